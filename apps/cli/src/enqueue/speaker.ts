import { readFile } from 'node:fs/promises';
import { SPEECH_MODELS, speechModelSchema, speechSettingsShape } from '@voxline/runninghub';
import { z } from 'zod';
import { describeIssues, systemVoiceSchema, type Voice, voiceSchema } from '../input/schema.js';
import { CliError } from '../output.js';
import type { Speaker, SpeechDefaults } from './batches.js';

/** The flags of `enqueue` that say who speaks the lines and how. */
export interface SpeakerFlags {
  /** A voxline voice id, or a voice.json file to clone. */
  voice?: string;
  systemVoice?: string;
  perLineClone?: boolean;
  audio?: string;
  voiceId?: string;
  model?: string;
  languageBoost?: string;
  accuracy?: string;
  noiseReduction?: boolean;
  volumeNormalization?: boolean;
  speed?: string;
  volume?: string;
  pitch?: string;
  emotion?: string;
  englishNormalization?: boolean;
  pronunciation?: string[];
}

// voxline's ids are UUIDs (v7); a voice.json path never looks like one.
const VOICE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isVoiceId(value: string): boolean {
  return VOICE_ID.test(value);
}

export function parseJsonFlag(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError('invalid_option', `${flag} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The voice from `--voice voice.json`, with any voice flag given on top of it. */
export async function voiceFrom(
  flags: Omit<SpeakerFlags, 'voice'> & { voiceFile?: string | undefined },
  voiceIdMinLength: number,
): Promise<Voice> {
  const perLineClone = flags.perLineClone === true;
  let base: Record<string, unknown> = {};
  if (flags.voiceFile) {
    let text: string;
    try {
      text = await readFile(flags.voiceFile, 'utf8');
    } catch (error) {
      throw new CliError(
        'invalid_voice',
        `cannot read ${flags.voiceFile}: ${(error as Error).message} (--voice takes a voice id, a uuid, or a voice.json file)`,
      );
    }
    const parsed = parseJsonFlag(`--voice ${flags.voiceFile}`, text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new CliError('invalid_voice', `${flags.voiceFile} must hold a JSON object`);
    }
    base = parsed as Record<string, unknown>;
  }
  const given: Record<string, unknown> = {
    audio: flags.audio,
    custom_voice_id: flags.voiceId,
    model: flags.model,
    language_boost: flags.languageBoost,
    accuracy: flags.accuracy === undefined ? undefined : Number(flags.accuracy),
    need_noise_reduction: flags.noiseReduction,
    need_volume_normalization: flags.volumeNormalization,
  };
  const merged = { ...base };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) merged[key] = value;
  const result = voiceSchema({ voiceIdMinLength, perLineClone }).safeParse(merged);
  if (!result.success) {
    const missing = !merged.audio || (perLineClone && !merged.custom_voice_id);
    throw new CliError(
      'invalid_voice',
      missing
        ? perLineClone
          ? 'a voice cloned once a line needs a reference audio URL and a voice id: --audio URL --voice-id ID, or --voice voice.json'
          : 'a voice to clone needs a reference audio URL: --audio URL, or --voice voice.json'
        : 'the voice is invalid',
      describeIssues(result.error, merged),
    );
  }
  return result.data;
}

function numberFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw new CliError('invalid_option', `${flag} must be a number, not ${value}`);
  }
  return n;
}

/** `--speed`, `--volume`, … as the batch's `speech` settings, checked by the contract's rules. */
export function speechSettingsFrom(flags: SpeakerFlags) {
  const given = {
    speed: numberFlag('--speed', flags.speed),
    volume: numberFlag('--volume', flags.volume),
    pitch: numberFlag('--pitch', flags.pitch),
    emotion: flags.emotion,
    english_normalization: flags.englishNormalization,
    pronunciation_dict: flags.pronunciation,
  };
  const settings = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const result = z.strictObject(speechSettingsShape()).safeParse(settings);
  if (!result.success) {
    throw new CliError(
      'invalid_option',
      'a speech setting is invalid',
      describeIssues(result.error, settings),
    );
  }
  return result.data;
}

const CLONE_FLAGS = [
  ['audio', '--audio'],
  ['voiceId', '--voice-id'],
  ['languageBoost', '--language-boost'],
  ['accuracy', '--accuracy'],
  ['noiseReduction', '--noise-reduction'],
  ['volumeNormalization', '--volume-normalization'],
] as const;

const SPEECH_FLAGS = [
  ['speed', '--speed'],
  ['volume', '--volume'],
  ['pitch', '--pitch'],
  ['emotion', '--emotion'],
  ['englishNormalization', '--english-normalization'],
  ['pronunciation', '--pronunciation'],
] as const;

/**
 * Who speaks the lines, from the flags:
 * - `--voice ID` (a voice made with `voxline voices create`) or `--system-voice NAME`: speech
 *   lines with that voice;
 * - a voice to clone (`--audio URL`, or `--voice voice.json`): the API clones it
 *   once for the batch (or reuses the tenant's identical voice) and speaks every line with it;
 *   with `--per-line-clone`, every line is its own clone, as before voices existed.
 * `--model` is the lines' speech model, except with `--per-line-clone`, where it is the clone's.
 */
export async function speakerFrom(
  flags: SpeakerFlags,
  voiceIdMinLength: number,
): Promise<{ speaker: Speaker; defaults: SpeechDefaults }> {
  const voiceId = flags.voice !== undefined && isVoiceId(flags.voice) ? flags.voice : undefined;
  const voiceFile = voiceId === undefined ? flags.voice : undefined;
  const cloneFlags: string[] = CLONE_FLAGS.filter(([key]) => flags[key] !== undefined).map(
    ([, f]) => f,
  );
  if (voiceFile !== undefined) cloneFlags.unshift('--voice FILE');
  const speechFlags = SPEECH_FLAGS.filter(([key]) => flags[key] !== undefined).map(([, f]) => f);

  if (voiceId !== undefined || flags.systemVoice !== undefined) {
    const given = voiceId !== undefined ? '--voice ID' : '--system-voice';
    if (voiceId !== undefined && flags.systemVoice !== undefined) {
      throw new CliError('invalid_option', 'give --voice ID or --system-voice NAME, not both');
    }
    if (cloneFlags.length > 0 || flags.perLineClone) {
      throw new CliError(
        'invalid_option',
        `${given} speaks with a voice that exists already: ${[...cloneFlags, ...(flags.perLineClone ? ['--per-line-clone'] : [])].join(', ')} only apply to a voice to clone`,
      );
    }
  } else if (cloneFlags.length === 0) {
    throw new CliError(
      'invalid_option',
      'say who speaks the lines: --voice ID (see `voxline voices create`), --system-voice NAME, or a voice to clone (--audio URL, or --voice voice.json)',
    );
  }

  if (flags.perLineClone) {
    if (speechFlags.length > 0) {
      throw new CliError(
        'invalid_option',
        `${speechFlags.join(', ')} set speech lines; --per-line-clone makes every line a voice-clone call, which has no such setting`,
      );
    }
    const voice = await voiceFrom({ ...flags, voiceFile }, voiceIdMinLength);
    return { speaker: { kind: 'per_line_clone', voice }, defaults: {} };
  }

  const defaults: SpeechDefaults = { speech: speechSettingsFrom(flags) };
  if (flags.model !== undefined) {
    const model = speechModelSchema().safeParse(flags.model);
    if (!model.success) {
      throw new CliError(
        'invalid_option',
        `--model must be a speech model: ${SPEECH_MODELS.join(', ')}`,
      );
    }
    defaults.model = model.data;
  }
  if (voiceId !== undefined) return { speaker: { kind: 'voice', voiceId }, defaults };
  if (flags.systemVoice !== undefined) {
    const name = systemVoiceSchema().safeParse(flags.systemVoice);
    if (!name.success) {
      throw new CliError('invalid_option', name.error.issues[0]?.message ?? 'bad system voice');
    }
    return { speaker: { kind: 'system_voice', name: name.data }, defaults };
  }
  // The lines' model is not the clone's: the voice keeps what voice.json says (its preview).
  const voice = await voiceFrom({ ...flags, model: undefined, voiceFile }, voiceIdMinLength);
  return { speaker: { kind: 'inline', voice }, defaults };
}
