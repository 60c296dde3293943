import { ConfigError, loadConfig } from '@voxline/config';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM_OPTIONS, parseFaults, simOptionsFromConfig } from '../src/index.js';

describe('simulator options from the environment', () => {
  it('has the documented defaults', () => {
    const options = simOptionsFromConfig(loadConfig({}));
    expect(options).toMatchObject({
      host: '127.0.0.1',
      port: 8090,
      apiKeys: null,
      maxInFlight: 3,
      duplicateVoiceId: 'fail-task',
      keyErrors: {},
      faults: {},
      shapeVariety: 0,
      voiceIdMinLength: 8,
      voiceTtlMs: 7 * 24 * 3_600_000,
      voiceMissingAt: 'task',
      callbackEventData: 'alternate',
      callbackLateMs: 10_000,
      callbackAttempts: 3,
      callbackBackoffMs: 1_000,
      callbackTimeoutMs: 5_000,
    });
    expect(loadConfig({}).RUNNINGHUB_LIVE).toBe(false);
  });

  it('reads keys, key errors, faults and durations', () => {
    const options = simOptionsFromConfig(
      loadConfig({
        SIM_PORT: '0',
        SIM_API_KEYS: 'a-key-1, b-key-2',
        SIM_KEY_ERRORS: 'a-key-1:416,b:key:801',
        SIM_FAULTS: 'http500=0.1,taskFail=0.05,slowResponse=1',
        SIM_BASE_DURATION_MS: '20',
        SIM_PER_CHAR_MS: '0.5',
        SIM_DURATION_SIGMA: '0',
        SIM_DUPLICATE_VOICE_ID: 'allow',
        SIM_SHAPE_VARIETY: '0.25',
        CUSTOM_VOICE_ID_MIN_LENGTH: '3',
        SIM_VOICE_TTL_MS: '60000',
        SIM_VOICE_MISSING_AT: 'submit',
        SIM_CALLBACK_EVENT_DATA: 'object',
        SIM_CALLBACK_LATE_MS: '2500',
        SIM_CALLBACK_ATTEMPTS: '5',
        SIM_CALLBACK_BACKOFF_MS: '0',
        SIM_CALLBACK_TIMEOUT_MS: '750',
        RUNNINGHUB_LIVE: '1',
      }),
    );
    expect(options).toMatchObject({
      port: 0,
      apiKeys: ['a-key-1', 'b-key-2'],
      keyErrors: { 'a-key-1': '416', 'b:key': '801' },
      faults: { http500: 0.1, taskFail: 0.05, slowResponse: 1 },
      durations: { baseMs: 20, perCharMs: 0.5, sigma: 0 },
      duplicateVoiceId: 'allow',
      shapeVariety: 0.25,
      voiceIdMinLength: 3,
      voiceTtlMs: 60_000,
      voiceMissingAt: 'submit',
      callbackEventData: 'object',
      callbackLateMs: 2_500,
      callbackAttempts: 5,
      callbackBackoffMs: 0,
      callbackTimeoutMs: 750,
    });
    expect(loadConfig({ RUNNINGHUB_LIVE: '1' }).RUNNINGHUB_LIVE).toBe(true);
    expect(parseFaults('callbackLost=0.1,callbackLate=0.2,callbackDuplicate=1')).toEqual({
      callbackLost: 0.1,
      callbackLate: 0.2,
      callbackDuplicate: 1,
    });
  });

  it('names the variable of a bad value', () => {
    expect(() => loadConfig({ SIM_FAULTS: 'http500=2' })).toThrow(ConfigError);
    expect(() => loadConfig({ SIM_KEY_ERRORS: 'key-without-code' })).toThrow(/SIM_KEY_ERRORS/);
    expect(() => loadConfig({ SIM_SHAPE_VARIETY: '1.5' })).toThrow(/SIM_SHAPE_VARIETY/);
    expect(() => loadConfig({ SIM_VOICE_MISSING_AT: 'query' })).toThrow(/SIM_VOICE_MISSING_AT/);
    expect(() => loadConfig({ SIM_VOICE_TTL_MS: '0' })).toThrow(/SIM_VOICE_TTL_MS/);
    expect(() => parseFaults('http501=0.1')).toThrow(/unknown fault http501/);
    expect(() => loadConfig({ SIM_CALLBACK_EVENT_DATA: 'xml' })).toThrow(/SIM_CALLBACK_EVENT_DATA/);
    expect(() => loadConfig({ SIM_CALLBACK_ATTEMPTS: '0' })).toThrow(/SIM_CALLBACK_ATTEMPTS/);
  });

  it('defaults in process to a free port and a slow response beyond the client timeout', () => {
    expect(DEFAULT_SIM_OPTIONS.port).toBe(0);
    expect(DEFAULT_SIM_OPTIONS.slowResponseMs).toBeGreaterThan(30_000);
  });
});
