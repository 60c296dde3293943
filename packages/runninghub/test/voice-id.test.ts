import { describe, expect, it } from 'vitest';
import {
  customVoiceIdSchema,
  decodeUpstreamVoiceId,
  encodeUpstreamVoiceId,
  upstreamJobKey,
} from '../src/index.js';

const JOB = '019abcde-1234-7def-8abc-0123456789ab';

describe('upstream voice ids', () => {
  it('end in the last 8 hex digits of the job id and the attempt', () => {
    expect(upstreamJobKey(JOB)).toBe('456789ab');
    expect(encodeUpstreamVoiceId('narrator01', JOB, 1)).toBe('narrator01-456789ab1');
  });

  it('are unique per job and attempt and keep the contract rule', () => {
    const a = encodeUpstreamVoiceId('narrator01', JOB, 1);
    expect(encodeUpstreamVoiceId('narrator01', JOB, 2)).not.toBe(a);
    const long = encodeUpstreamVoiceId(`n1${'x'.repeat(254)}`, JOB, 3);
    expect(long).toHaveLength(256);
    expect(customVoiceIdSchema({ voiceIdMinLength: 8 }).safeParse(long).success).toBe(true);
  });

  it('decode to the job key and attempt they were encoded with, past attempt 9', () => {
    for (const attempt of [1, 9, 10, 123]) {
      const id = encodeUpstreamVoiceId('narrator-01', JOB, attempt);
      expect(decodeUpstreamVoiceId(id)).toEqual({
        base: 'narrator-01',
        jobKey: upstreamJobKey(JOB),
        attempt,
      });
    }
  });

  it('decode an id voxline did not suffix to null', () => {
    expect(decodeUpstreamVoiceId('narrator01')).toBeNull();
    expect(decodeUpstreamVoiceId('narrator-0123456')).toBeNull();
  });
});
