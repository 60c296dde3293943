export { CALLBACK_EVENT_DATA, type CallbackEventData } from './callback-body.js';
export type { CallbackStats } from './callbacks.js';
export {
  FAULT_KINDS,
  type Fault,
  type FaultKind,
  type FaultProbabilities,
  type ScriptEntry,
  SIM_ENDPOINTS,
  type SimEndpoint,
} from './faults.js';
export { keyLabel } from './keys.js';
export { parseMarkers } from './markers.js';
export {
  DEFAULT_SIM_OPTIONS,
  type Durations,
  parseFaults,
  parseKeyErrors,
  type SimOptions,
  simOptionsFromConfig,
} from './options.js';
// Exported so that whatever drives the simulator (chaos, bench) replays runs from the same seeds.
export { mulberry32, type Random } from './prng.js';
export type { Scenario } from './scenario.js';
export { type SimulatorHandle, startSimulator } from './server.js';
export type { CurrentScenario, SimTaskView } from './simulator.js';
export type { SimStats } from './stats.js';
export type { SimTaskKind } from './tasks.js';
export type { SimVoiceView } from './voices.js';
export { renderWav, WAV_SAMPLE_RATE, wavDurationMs } from './wav.js';
