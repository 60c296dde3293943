import { describe, expect, it } from 'vitest';
import { buildRequestSchemas, isSpeechLineBody } from '../src/index.js';

/**
 * The request schemas on their own: which kind of line a body is, what defaults each kind
 * gets, and that every refusal names its field. The API's tests cover them through HTTP.
 */

const schemas = buildRequestSchemas({
  voiceIdMinLength: 8,
  textMaxChars: 100,
  metadataMaxBytes: 1_000,
  batchMaxLines: 10,
});
const VOICE_ID = '019abcde-0000-7000-8000-000000000000';
const AUDIO = 'https://cdn.example.com/a.wav';

function paths(result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[] }> } }) {
  expect(result.success).toBe(false);
  return (result.error?.issues ?? []).map((i) => i.path.join('.'));
}

describe('createClone', () => {
  it('gives a clone line the clone defaults and a speech line only its model', () => {
    const clone = schemas.createClone.parse({
      audio: AUDIO,
      custom_voice_id: 'narr0001',
      text: 'a',
    });
    expect(isSpeechLineBody(clone)).toBe(false);
    expect(clone).toEqual({
      audio: AUDIO,
      custom_voice_id: 'narr0001',
      text: 'a',
      model: 'speech-02-hd',
      need_noise_reduction: false,
      need_volume_normalization: false,
    });
    const speech = schemas.createClone.parse({ voice_id: VOICE_ID, text: 'a', speed: 2 });
    expect(isSpeechLineBody(speech)).toBe(true);
    expect(speech).toEqual({ voice_id: VOICE_ID, text: 'a', speed: 2, model: 'speech-02-hd' });
  });

  it('names every field of the wrong kind, and the missing ones, even beside bad fields', () => {
    expect(
      paths(
        schemas.createClone.safeParse({ voice_id: VOICE_ID, text: 'a', audio: AUDIO, accuracy: 7 }),
      ),
    ).toEqual(expect.arrayContaining(['accuracy', 'audio']));
    expect(paths(schemas.createClone.safeParse({ text: 'a', pitch: 1 }))).toEqual([
      'pitch',
      'audio',
      'custom_voice_id',
    ]);
  });
});

describe('createBatch', () => {
  it('keeps line overrides for per_line_clone and speech overrides otherwise', () => {
    const perLine = schemas.createBatch.parse({
      per_line_clone: true,
      voice: { audio: AUDIO, custom_voice_id: 'narr0001' },
      lines: [{ text: 'a', accuracy: 0.2, model: 'speech-2.5-hd-preview' }],
    });
    expect(perLine.lines[0]).toEqual({ text: 'a', accuracy: 0.2, model: 'speech-2.5-hd-preview' });
    const speech = schemas.createBatch.parse({
      voice: { audio: AUDIO },
      speech: { speed: 1.5 },
      lines: [{ text: 'a', speech: { pitch: 3 } }],
    });
    expect(speech).toMatchObject({
      per_line_clone: false,
      voice: { audio: AUDIO, model: 'speech-02-hd' },
      speech: { speed: 1.5 },
      lines: [{ text: 'a', speech: { pitch: 3 } }],
    });
  });

  it('names the line without a voice and the fields that do not fit the mode', () => {
    expect(
      paths(
        schemas.createBatch.safeParse({
          lines: [{ text: 'a', voice_id: VOICE_ID }, { text: 'b' }],
        }),
      ),
    ).toEqual(['lines.1']);
    expect(
      paths(
        schemas.createBatch.safeParse({
          system_voice: 'Abbess',
          lines: [{ text: 'a', custom_voice_id: 'narr0001' }],
        }),
      ),
    ).toEqual(['lines.0.custom_voice_id']);
  });
});

describe('voices', () => {
  it('takes a voice without audio (a multipart file is read apart) and patches one field', () => {
    expect(schemas.createVoice.parse({ name: 'N' })).toEqual({
      name: 'N',
      model: 'speech-02-hd',
      need_noise_reduction: false,
      need_volume_normalization: false,
      keep_alive: false,
    });
    expect(schemas.patchVoice.parse({ metadata: null })).toEqual({ metadata: null });
    expect(paths(schemas.patchVoice.safeParse({}))).toEqual(['']);
  });
});
