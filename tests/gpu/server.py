#!/usr/bin/env python3
"""A small GPU-backed OpenAI-compatible streaming server for the llm-bench GPU check.

The model is a randomly initialised Llama-style network built from a transformers
config, so nothing is downloaded: the tokens are meaningless, but the GPU does the
real work of a decoder (prefill, then one forward pass per token with a KV cache),
which is what the power, energy and utilisation figures need.

Requests are served in static batches: the engine takes up to --max-batch waiting
requests, prefills them together (left-padded) and decodes them greedily, step by
step, streaming each token to its request as an SSE chunk; requests that arrive
meanwhile wait for the next batch. The model never stops early (no EOS), so every
response is exactly max_tokens long, and the final chunk carries `usage`.

Endpoints: POST /v1/chat/completions and /v1/completions (streaming or not),
GET /v1/models, /version, /health and /metrics (vLLM-named counters and gauges, so
llm-bench's server scraping is exercised too).

    python3 tests/gpu/server.py --port 8100            # needs torch, transformers, aiohttp
    python3 tests/gpu/server.py --port 8100 --stub     # no torch: fake tokens, for
                                                       # checking the HTTP layer on a CPU
"""

import argparse
import asyncio
import json
import time
import uuid
import zlib

from aiohttp import web

ENGINE_VERSION = "llm-bench-gpu-check 0.1"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--model-name", default="random-llama")
    p.add_argument("--layers", type=int, default=16)
    p.add_argument("--hidden", type=int, default=2048)
    p.add_argument("--intermediate", type=int, default=5632)
    p.add_argument("--heads", type=int, default=16)
    p.add_argument("--kv-heads", type=int, default=4)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--stub",
        action="store_true",
        help="no model: emit fake tokens at --stub-itl-ms, to test the HTTP layer without torch",
    )
    p.add_argument("--stub-itl-ms", type=float, default=2.0)
    return p.parse_args()


def tokenize(text, vocab):
    """Word-level stand-in for a tokenizer: each whitespace-separated word is one id
    (stable across runs), so prompt token counts match llm-bench's synthetic prompts."""
    words = text.split() or [""]
    return [3 + zlib.crc32(w.encode()) % (vocab - 3) for w in words]


def detokenize(token_id):
    return f" t{token_id}"


class Metrics:
    """vLLM-named counters for /metrics."""

    def __init__(self, model):
        self.model = model
        self.requests_ok = 0
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.running = 0
        self.waiting = 0

    def render(self):
        label = '{model_name="%s"}' % self.model
        rows = [
            ("vllm:num_requests_running", "gauge", self.running),
            ("vllm:num_requests_waiting", "gauge", self.waiting),
            ("vllm:prompt_tokens_total", "counter", self.prompt_tokens),
            ("vllm:generation_tokens_total", "counter", self.generation_tokens),
            ("vllm:request_success_total", "counter", self.requests_ok),
        ]
        out = []
        for name, kind, value in rows:
            out.append(f"# HELP {name} {name}\n# TYPE {name} {kind}\n{name}{label} {float(value)}\n")
        return "".join(out)


class Request:
    def __init__(self, prompt_ids, max_tokens):
        self.prompt_ids = prompt_ids
        self.max_tokens = max(1, max_tokens)
        self.tokens = asyncio.Queue()  # token ids, then None at the end


class TorchEngine:
    """Static batching over a random Llama: prefill a batch, then greedy decode."""

    def __init__(self, args):
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        self.torch = torch
        torch.manual_seed(args.seed)
        config = LlamaConfig(
            vocab_size=args.vocab,
            hidden_size=args.hidden,
            intermediate_size=args.intermediate,
            num_hidden_layers=args.layers,
            num_attention_heads=args.heads,
            num_key_value_heads=args.kv_heads,
            max_position_embeddings=8192,
        )
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        # Built on the device directly (random init there takes a second, not a
        # minute on the CPU), then cast.
        with self.device:
            self.model = LlamaForCausalLM(config).to(dtype).eval()
        params = sum(p.numel() for p in self.model.parameters())
        print(f"model: {params / 1e9:.2f}B parameters, {dtype}, on {self.device}", flush=True)
        self.pad_id = 0
        self._step(self._prefill([[1] * 16]))  # warm-up: kernels, cuBLAS handles

    def _prefill(self, batch_ids):
        torch = self.torch
        width = max(len(ids) for ids in batch_ids)
        input_ids = torch.full((len(batch_ids), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch_ids), width), dtype=torch.long)
        for i, ids in enumerate(batch_ids):
            input_ids[i, width - len(ids):] = torch.tensor(ids)
            mask[i, width - len(ids):] = 1
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        return input_ids, mask, positions, None

    def _step(self, state):
        """One forward pass; returns the next token of every row and the new state."""
        torch = self.torch
        input_ids, mask, positions, past = state
        with torch.inference_mode():
            out = self.model(
                input_ids=input_ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=past,
                use_cache=True,
            )
        next_ids = out.logits[:, -1, :].argmax(-1)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)
        positions = positions[:, -1:] + 1
        return next_ids, (next_ids[:, None], mask, positions, out.past_key_values)

    def run_batch(self, batch, emit):
        """Blocking: prefill and decode `batch`; `emit(i, token)` per row and step."""
        state = self._prefill([r.prompt_ids for r in batch])
        steps = max(r.max_tokens for r in batch)
        for step in range(steps):
            next_ids, state = self._step(state)
            # .tolist() waits for the GPU: each token is streamed when it exists.
            for i, token in enumerate(next_ids.tolist()):
                if step < batch[i].max_tokens:
                    emit(i, token)


class StubEngine:
    """No model: a token every --stub-itl-ms, for testing the HTTP layer."""

    def __init__(self, args):
        self.itl_s = args.stub_itl_ms / 1000.0
        print("stub engine: fake tokens, no torch", flush=True)

    def run_batch(self, batch, emit):
        steps = max(r.max_tokens for r in batch)
        for step in range(steps):
            time.sleep(self.itl_s)
            for i, r in enumerate(batch):
                if step < r.max_tokens:
                    emit(i, 100 + step)


class Server:
    def __init__(self, args):
        self.args = args
        self.metrics = Metrics(args.model_name)
        self.engine = StubEngine(args) if args.stub else TorchEngine(args)
        self.queue = asyncio.Queue()
        self.started = int(time.time())

    async def engine_loop(self):
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            await asyncio.sleep(0.002)  # let a burst of arrivals join the batch
            while len(batch) < self.args.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self.metrics.waiting = self.queue.qsize()
            self.metrics.running = len(batch)

            def emit(i, token):
                loop.call_soon_threadsafe(batch[i].tokens.put_nowait, token)

            try:
                await loop.run_in_executor(None, self.engine.run_batch, batch, emit)
            finally:
                for r in batch:
                    loop.call_soon_threadsafe(r.tokens.put_nowait, None)
                self.metrics.running = 0

    async def complete(self, request, chat):
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"error": {"message": "body is not JSON"}}, status=400)
        if chat:
            text = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        else:
            text = str(body.get("prompt", ""))
        prompt_ids = tokenize(text, self.args.vocab)
        req = Request(prompt_ids, int(body.get("max_tokens") or 16))
        self.metrics.waiting += 1
        await self.queue.put(req)
        rid = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
        created = int(time.time())
        obj = "chat.completion.chunk" if chat else "text_completion"
        usage = lambda n: {  # noqa: E731
            "prompt_tokens": len(prompt_ids),
            "completion_tokens": n,
            "total_tokens": len(prompt_ids) + n,
        }

        def choice(text, finish=None, first=False):
            if chat:
                delta = {"role": "assistant", "content": text} if first else {"content": text}
                return {"index": 0, "delta": delta, "finish_reason": finish}
            return {"index": 0, "text": text, "finish_reason": finish}

        if not body.get("stream"):
            tokens = []
            while (t := await req.tokens.get()) is not None:
                tokens.append(t)
            self.account(len(prompt_ids), len(tokens))
            content = "".join(detokenize(t) for t in tokens)
            message = (
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "length"}
                if chat
                else {"index": 0, "text": content, "finish_reason": "length"}
            )
            return web.json_response(
                {
                    "id": rid,
                    "object": "chat.completion" if chat else "text_completion",
                    "created": created,
                    "model": self.args.model_name,
                    "choices": [message],
                    "usage": usage(len(tokens)),
                }
            )

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)

        async def send(payload):
            await response.write(f"data: {json.dumps(payload)}\n\n".encode())

        def chunk(choices, extra=None):
            c = {"id": rid, "object": obj, "created": created, "model": self.args.model_name, "choices": choices}
            c.update(extra or {})
            return c

        n = 0
        while (t := await req.tokens.get()) is not None:
            await send(chunk([choice(detokenize(t), first=(n == 0))]))
            n += 1
        await send(chunk([choice("", finish="length")]))
        # The usage chunk: empty choices, as OpenAI and vLLM send with include_usage.
        await send(chunk([], {"usage": usage(n)}))
        await response.write(b"data: [DONE]\n\n")
        self.account(len(prompt_ids), n)
        return response

    def account(self, prompt, generated):
        self.metrics.requests_ok += 1
        self.metrics.prompt_tokens += prompt
        self.metrics.generation_tokens += generated

    async def chat(self, request):
        return await self.complete(request, chat=True)

    async def completions(self, request):
        return await self.complete(request, chat=False)

    async def models(self, _request):
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": self.args.model_name, "object": "model", "created": self.started, "owned_by": "llm-bench-gpu-check"}
                ],
            }
        )

    async def version(self, _request):
        return web.json_response({"version": ENGINE_VERSION})

    async def health(self, _request):
        return web.Response(text="ok")

    async def prometheus(self, _request):
        return web.Response(text=self.metrics.render(), content_type="text/plain")


async def main():
    args = parse_args()
    server = Server(args)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.chat)
    app.router.add_post("/v1/completions", server.completions)
    app.router.add_get("/v1/models", server.models)
    app.router.add_get("/version", server.version)
    app.router.add_get("/health", server.health)
    app.router.add_get("/metrics", server.prometheus)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    print(f"serving {args.model_name} on http://{args.host}:{args.port}/v1", flush=True)
    await server.engine_loop()


if __name__ == "__main__":
    asyncio.run(main())
