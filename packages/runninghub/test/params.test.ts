import { describe, expect, it } from 'vitest';
import {
  LANGUAGE_BOOSTS,
  toSubmitBody,
  VOICE_CLONE_MODELS,
  type VoiceCloneParams,
  voiceCloneParamsSchema,
} from '../src/index.js';

const schema = voiceCloneParamsSchema({ voiceIdMinLength: 8 });
const valid = {
  audio: 'https://example.com/ref.wav',
  custom_voice_id: 'narrator01',
  text: 'Hello there.',
  need_noise_reduction: false,
  need_volume_normalization: true,
  model: 'speech-2.6-hd',
};

function messages(input: unknown, s = schema): string[] {
  const result = s.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => i.message);
}

describe('voiceCloneParamsSchema', () => {
  it('accepts a valid body and fills the documented defaults', () => {
    const parsed: VoiceCloneParams = schema.parse({
      audio: valid.audio,
      custom_voice_id: valid.custom_voice_id,
      text: valid.text,
    });
    expect(parsed).toEqual({
      audio: valid.audio,
      custom_voice_id: 'narrator01',
      text: valid.text,
      need_noise_reduction: false,
      need_volume_normalization: false,
      model: 'speech-02-hd',
    });
  });

  it.each([
    ['ab1', 'custom_voice_id must be at least 8 characters'],
    [`a1${'x'.repeat(255)}`, 'custom_voice_id must be at most 256 characters'],
    ['1narrator', 'custom_voice_id must start with a letter'],
    ['narr ator1', 'custom_voice_id may only contain letters, digits, "-" and "_"'],
    ['narrator1_', 'custom_voice_id must not end with "-" or "_"'],
    ['narrator1-', 'custom_voice_id must not end with "-" or "_"'],
    ['Elegant_Man', 'custom_voice_id must contain a digit'],
  ])('custom_voice_id %s breaks "%s"', (id, message) => {
    expect(messages({ ...valid, custom_voice_id: id })).toContain(message);
  });

  it('takes the minimum voice id length from the caller', () => {
    const lenient = voiceCloneParamsSchema({ voiceIdMinLength: 3 });
    expect(messages({ ...valid, custom_voice_id: 'ab1' }, lenient)).toEqual([]);
    expect(messages({ ...valid, custom_voice_id: 'Elegant_Man1' }, lenient)).toEqual([]);
  });

  it('names the rule for every other field', () => {
    expect(messages({ ...valid, audio: 'ftp://x/y.wav' })[0]).toMatch(/^audio must be/);
    expect(messages({ ...valid, text: '   ' })).toContain('text must not be empty');
    expect(messages({ ...valid, accuracy: 1.5 })).toContain('accuracy must be between 0 and 1');
    expect(messages({ ...valid, accuracy: '0.5' })).toContain('accuracy must be a number');
    expect(messages({ ...valid, need_noise_reduction: 'true' })).toContain(
      'need_noise_reduction must be a JSON boolean',
    );
    expect(messages({ ...valid, need_volume_normalization: 1 })).toContain(
      'need_volume_normalization must be a JSON boolean',
    );
    expect(messages({ ...valid, model: 'speech-01' })[0]).toMatch(/^model must be one of/);
    expect(messages({ ...valid, language_boost: 'Klingon' })[0]).toMatch(
      /^language_boost must be one of/,
    );
  });

  it('accepts every documented model and language', () => {
    for (const model of VOICE_CLONE_MODELS) expect(messages({ ...valid, model })).toEqual([]);
    for (const language_boost of LANGUAGE_BOOSTS) {
      expect(messages({ ...valid, language_boost })).toEqual([]);
    }
  });
});

describe('toSubmitBody', () => {
  it('leaves out optional fields that are not set', () => {
    const body = toSubmitBody(schema.parse(valid));
    expect(Object.keys(body).sort()).toEqual(
      [
        'audio',
        'custom_voice_id',
        'model',
        'need_noise_reduction',
        'need_volume_normalization',
        'text',
      ].sort(),
    );
    expect(toSubmitBody({ ...schema.parse(valid), accuracy: 0.9 }).accuracy).toBe(0.9);
  });
});
