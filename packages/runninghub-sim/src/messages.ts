// Messages upstream is known or reported to send with each code; the sim's own codes (auth,
// not found) reuse the names the contract's table gives them.
const CODE_MESSAGES: Record<string, string> = {
  '301': 'PARAMS_INVALID',
  '412': 'PARAMS_INVALID',
  '415': 'NO_FREE_INSTANCE',
  '416': 'BALANCE_NOT_ENOUGH',
  '421': 'TASK_QUEUE_MAXED',
  '433': 'VALIDATE_PROMPT_FAILED',
  '500': 'INTERNAL_ERROR',
  '801': 'APIKEY_UNAUTHORIZED',
  '802': 'APIKEY_INVALID',
  '812': 'INSUFFICIENT_FUNDS',
  '1003': 'RATE_LIMITED',
  '1004': 'Task not found or expired',
  '1005': 'INTERNAL_ERROR',
  '1006': 'TASK_EXECUTION_TIMEOUT',
  '1007': 'INVALID_REQUEST_BODY',
  '1011': 'MODEL_BUSY',
  '1501': 'CONTENT_MODERATION_FAILED',
  '1505': 'REAL_PERSON_PROHIBITED',
  '1520': 'USER_CONCURRENCY_LIMIT',
  '1043': 'voice clone: ASR similarity check failed',
  '1044': 'voice clone: prompt similarity check failed',
  '2037': 'voice clone: reference audio too short or too long',
  '2038': 'voice clone: no permission to clone',
  '2039': 'voice clone: voice id already exists',
  '2042': 'voice clone: no access to this voice id',
  '2048': 'voice clone: prompt audio too long',
  '20132': 'voice clone: invalid sample or voice id',
  // MiniMax's words for a speech voice_id it does not have (contract, "Speak with a voice").
  '2054': 'voice id not exist',
};

export function messageFor(code: string): string {
  return CODE_MESSAGES[code] ?? `SIMULATED_ERROR_${code}`;
}
