/** A valid voice-clone request, as the API stores it, for tests that need a job row. */
export const request = {
  audio: 'https://example.com/ref.wav',
  custom_voice_id: 'narrator01',
  text: 'Hello there.',
  need_noise_reduction: false,
  need_volume_normalization: false,
  model: 'speech-02-hd' as const,
};
