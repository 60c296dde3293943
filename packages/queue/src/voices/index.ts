/** Speech lines parked until their voice's clone ends (see VoiceWaiters). */
export { VoiceWaiters } from './voice-waiters.js';
