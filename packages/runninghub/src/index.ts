export {
  isTaskCallbackError,
  parseTaskCallback,
  TASK_END_EVENT,
  type TaskCallback,
  TaskCallbackError,
} from './callback.js';
export {
  type Classification,
  classifyHttpStatus,
  classifyUpstreamCode,
  isTaskLostCode,
  KNOWN_UPSTREAM_CODES,
  normaliseCode,
  parseRetryAfter,
} from './classify.js';
export {
  PATHS,
  type RequestInfo,
  type RequestOutcome,
  RunningHubClient,
  type RunningHubClientOptions,
  type SubmitOptions,
} from './client.js';
export {
  createsTask,
  type Endpoint,
  type ErrorKind,
  isRunningHubError,
  RunningHubError,
  type RunningHubErrorInit,
} from './errors.js';
export { parseJsonKeepingBigIntegers } from './json.js';
export {
  CUSTOM_VOICE_ID_MAX_LENGTH,
  customVoiceIdSchema,
  DEFAULT_ACCURACY,
  DEFAULT_VOICE_CLONE_MODEL,
  LANGUAGE_BOOSTS,
  type LanguageBoost,
  toSubmitBody,
  VOICE_CLONE_MODELS,
  VOICE_FIELDS,
  type VoiceCloneModel,
  type VoiceCloneParams,
  type VoiceCloneParamsSchemaOptions,
  type VoiceField,
  voiceCloneParamsSchema,
  voiceOverrideShape,
} from './params.js';
export {
  actualCost,
  billedCharacters,
  estimateTaskCost,
  type PriceList,
  type PriceOverrides,
  PUBLIC_PRICES,
  priceList,
  priceOverridesSchema,
  roundPrice,
} from './prices.js';
export {
  DEFAULT_SPEECH_MODEL,
  EMOTIONS,
  type Emotion,
  PRONUNCIATION_DICT_MAX_ENTRIES,
  SPEECH_MODELS,
  SPEECH_SETTING_FIELDS,
  type SpeechModel,
  type SpeechParams,
  type SpeechRequest,
  type SpeechSettings,
  SYSTEM_VOICES,
  type SystemVoice,
  speechModelSchema,
  speechParamsSchema,
  speechPath,
  speechSettingsShape,
  toSpeechBody,
} from './speech.js';
export {
  errorFromFailedTask,
  isTerminalStatus,
  NON_TERMINAL_STATUSES,
  type TaskResponse,
  type TaskResult,
  TERMINAL_STATUSES,
  taskResponseBodySchema,
  toTaskResponse,
  type Usage,
} from './task.js';
export { type UploadResult, uploadResponseBodySchema } from './upload.js';
export { decodeUpstreamVoiceId, encodeUpstreamVoiceId, upstreamJobKey } from './voice-id.js';
export { DEFAULT_VOICE_MISSING_CODES, isVoiceMissing } from './voice-missing.js';
