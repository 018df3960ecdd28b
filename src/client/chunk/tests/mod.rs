//! Payloads shaped like each server's documented output, one at a time and as
//! whole recorded streams.

mod payloads;
mod streams;

use super::*;

fn parse(data: &str) -> ChunkInfo<'_> {
    parse_chunk(data).unwrap_or_else(|e| panic!("{e}"))
}

fn usage(prompt: u64, completion: u64) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: Some(prompt),
        completion_tokens: Some(completion),
    })
}
