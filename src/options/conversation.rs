//! `conversation:` meets the target: conversations need the chat API (a
//! completions prompt has no roles to hold a history), which is known only once a
//! target is chosen, so the check is here and names where the key is written.

use crate::client::Api;
use crate::config;
use crate::usage_error::UsageError;
use crate::workload::conversation::ConversationPlan;
use crate::workload::tokenizer::TokenCounter;
use crate::workload::ScenarioPlan;

/// The conversations of scenario `s`, if it has `conversation:`.
pub(super) fn plan_of(
    s: &config::Scenario,
    api: Api,
    plan: &ScenarioPlan,
    tokenizer: &Option<TokenCounter>,
) -> anyhow::Result<Option<ConversationPlan>> {
    let Some(conversation) = &s.conversation else {
        return Ok(None);
    };
    if api != Api::Chat {
        return Err(UsageError(format!(
            "{}: scenario `{}` has `conversation:`, which needs the chat API (each turn sends \
             the history as `messages`); the target uses `api: {}`. Use a chat target (`api: chat`, the \
             default) or remove `conversation:`",
            conversation.written_at,
            s.name,
            api.name()
        ))
        .into());
    }
    Ok(Some(ConversationPlan::new(
        conversation,
        plan.prompts.clone(),
        tokenizer.clone(),
        plan.spec.seed,
    )))
}
