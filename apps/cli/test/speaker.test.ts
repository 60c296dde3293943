import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { speakerFrom } from '../src/enqueue/speaker.js';
import { CliError } from '../src/output.js';

const VOICE_ID = '0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21';
const AUDIO = 'https://cdn.example.com/me.wav';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voxline-cli-speaker-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refused(flags: Parameters<typeof speakerFrom>[0]): Promise<CliError> {
  const error = await speakerFrom(flags, 8).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

describe('speakerFrom', () => {
  it('speaks with a voice by id, with the speech model and settings as the batch defaults', async () => {
    expect(
      await speakerFrom(
        {
          voice: VOICE_ID,
          model: 'speech-2.8-hd',
          speed: '1.1',
          pitch: '-3',
          emotion: 'sad',
          englishNormalization: true,
          pronunciation: ['ASAP/As soon as possible'],
        },
        8,
      ),
    ).toEqual({
      speaker: { kind: 'voice', voiceId: VOICE_ID },
      defaults: {
        model: 'speech-2.8-hd',
        speech: {
          speed: 1.1,
          pitch: -3,
          emotion: 'sad',
          english_normalization: true,
          pronunciation_dict: ['ASAP/As soon as possible'],
        },
      },
    });
  });

  it('speaks with a system voice', async () => {
    expect(await speakerFrom({ systemVoice: 'Wise_Woman' }, 8)).toEqual({
      speaker: { kind: 'system_voice', name: 'Wise_Woman' },
      defaults: { speech: {} },
    });
    expect((await refused({ systemVoice: 'Nobody' })).message).toMatch(
      /^system_voice must be one of Wise_Woman/,
    );
  });

  it('clones the voice of the clone flags once, the lines keeping --model as their speech model', async () => {
    expect(await speakerFrom({ audio: AUDIO, model: 'speech-02-turbo' }, 8)).toEqual({
      speaker: { kind: 'inline', voice: { audio: AUDIO } },
      defaults: { model: 'speech-02-turbo', speech: {} },
    });
    const file = join(dir, 'voice.json');
    await writeFile(file, JSON.stringify({ audio: AUDIO, custom_voice_id: 'narrator01' }));
    expect(await speakerFrom({ voice: file, languageBoost: 'English' }, 8)).toEqual({
      speaker: {
        kind: 'inline',
        voice: { audio: AUDIO, custom_voice_id: 'narrator01', language_boost: 'English' },
      },
      defaults: { speech: {} },
    });
  });

  it('clones it once a line with --per-line-clone, where --model is the clone model', async () => {
    expect(
      await speakerFrom(
        { audio: AUDIO, voiceId: 'narrator01', model: 'speech-2.5-hd-preview', perLineClone: true },
        8,
      ),
    ).toEqual({
      speaker: {
        kind: 'per_line_clone',
        voice: { audio: AUDIO, custom_voice_id: 'narrator01', model: 'speech-2.5-hd-preview' },
      },
      defaults: {},
    });
    expect((await refused({ audio: AUDIO, perLineClone: true })).message).toMatch(
      /needs a reference audio URL and a voice id/,
    );
    expect(
      (await refused({ audio: AUDIO, voiceId: 'narrator01', perLineClone: true, speed: '1' }))
        .message,
    ).toMatch(/^--speed set speech lines; --per-line-clone makes every line a voice-clone call/);
  });

  it('refuses mixed or missing speakers and bad settings, naming the flags', async () => {
    expect((await refused({})).message).toMatch(/^say who speaks the lines: --voice ID/);
    expect((await refused({ voice: VOICE_ID, systemVoice: 'Wise_Woman' })).message).toBe(
      'give --voice ID or --system-voice NAME, not both',
    );
    expect((await refused({ voice: VOICE_ID, audio: AUDIO, perLineClone: true })).message).toBe(
      '--voice ID speaks with a voice that exists already: --audio, --per-line-clone only apply to a voice to clone',
    );
    expect((await refused({ voice: VOICE_ID, model: 'speech-2.5-hd-preview' })).message).toMatch(
      /^--model must be a speech model: speech-02-hd/,
    );
    const bad = await refused({ voice: VOICE_ID, speed: '3', pitch: '0.5', emotion: 'bored' });
    expect(bad.details).toEqual([
      'speed must be between 0.5 and 2',
      'pitch must be an integer',
      expect.stringMatching(/^emotion must be one of happy/),
    ]);
    expect((await refused({ voice: VOICE_ID, volume: 'loud' })).message).toBe(
      '--volume must be a number, not loud',
    );
    expect((await refused({ voice: join(dir, 'missing.json') })).message).toMatch(/^cannot read /);
  });
});
