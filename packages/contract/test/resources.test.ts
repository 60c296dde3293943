import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  type AudioResultRow,
  acceptedBatch,
  apiKeyResource,
  apiKeyResponse,
  batchAcceptedResponse,
  batchResource,
  batchResponse,
  type CloneJobRow,
  cloneResource,
  cloneResponse,
  deadLetterResource,
  deadLetterResponse,
  deliveryResource,
  deliveryResponse,
  endpointResource,
  endpointResponse,
  secretResource,
  secretResponse,
  type VoiceRow,
  voiceResource,
  voiceResponse,
} from '../src/index.js';

/**
 * Every public resource, as its mapper builds it, is exactly what its response schema lets
 * through: the API serializes with these schemas and the CLI parses with them, so a field a
 * mapper adds and its schema lacks would be dropped silently for both.
 */

const at = new Date('2026-04-01T12:00:00.000Z');
const later = new Date('2026-04-01T12:05:00.000Z');

const job: CloneJobRow = {
  id: '019abcde-1234-7def-8abc-0123456789ab',
  batchId: '019abcde-0000-7def-8abc-0123456789ab',
  ref: 'line-1',
  status: 'succeeded',
  kind: 'voice_clone',
  voiceId: null,
  attempts: 1,
  run: 1,
  upstreamTaskId: '1966',
  request: {
    audio: 'https://example.com/ref.wav',
    custom_voice_id: 'narrator01',
    text: 'Hello.',
    need_noise_reduction: false,
    need_volume_normalization: false,
    model: 'speech-02-hd',
  },
  estimatedCost: 3.12,
  actualCost: 3.12,
  reusedFrom: null,
  savedCost: null,
  errorCode: null,
  errorMessage: null,
  metadata: { chapter: 1 },
  createdAt: at,
  updatedAt: later,
  completedAt: later,
};
const audio: AudioResultRow = {
  url: 'https://example.com/out.wav',
  outputType: 'wav',
  urlExpiresAt: later,
  usage: {
    consumeMoney: '3.12',
    consumeCoins: null,
    taskCostTime: '4',
    thirdPartyConsumeMoney: null,
  },
  storageKey: null,
  sha256: null,
  bytes: null,
  format: null,
  durationMs: null,
  sampleRate: null,
  channels: null,
  archivedAt: null,
  purgedAt: null,
};
const archived: AudioResultRow = {
  ...audio,
  storageKey: 't1/019abcde-1234-7def-8abc-0123456789ab-1.wav',
  sha256: 'ab'.repeat(32),
  bytes: 88_244,
  format: 'wav',
  durationMs: 1_000,
  sampleRate: 44_100,
  channels: 1,
  archivedAt: later,
};
const view = { baseUrl: 'https://voxline.example.com' };
const batch = {
  id: job.batchId as string,
  status: 'completed' as const,
  total: 2,
  voiceId: '019abcde-0002-7def-8abc-0123456789ab',
  maxCost: 10,
  metadata: null,
  createdAt: at,
  completedAt: later,
};
const counts = { queued: 0, submitting: 0, running: 0, succeeded: 1, failed: 1, canceled: 0 };

function roundTrips(schema: z.ZodType, resource: unknown) {
  // Through JSON as on the wire: a Date that slipped through would not survive.
  const wire = JSON.parse(JSON.stringify(resource));
  expect(schema.parse(wire)).toEqual(wire);
  expect(wire).toEqual(resource);
}

describe('public resources', () => {
  it('a clone, with and without audio and with an error, is what cloneResponse carries', () => {
    roundTrips(cloneResponse, cloneResource(job, audio, view));
    roundTrips(
      cloneResponse,
      cloneResource(
        { ...job, status: 'failed', errorCode: '1505', errorMessage: 'no' },
        null,
        view,
      ),
    );
    expect(cloneResource(job, { ...audio, usage: null }, view).audio?.usage).toBeNull();
  });

  it("an archived clone links voxline's copy and keeps upstream's link beside it", () => {
    const reused = { ...job, reusedFrom: '019abcde-9999-7def-8abc-0123456789ab', savedCost: 3.12 };
    const resource = cloneResource(reused, archived, view);
    roundTrips(cloneResponse, resource);
    expect(resource).toMatchObject({
      reused_from: reused.reusedFrom,
      cost: { saved: 3.12 },
      audio: {
        url: `https://voxline.example.com/v1/clones/${job.id}/audio`,
        upstream_url: audio.url,
        sha256: archived.sha256,
        bytes: 88_244,
        format: 'wav',
        duration_ms: 1_000,
        sample_rate: 44_100,
        channels: 1,
      },
    });
    // Not archived (a result from before the audio store): upstream's link is the link.
    expect(cloneResource(job, audio, view).audio).toMatchObject({
      url: audio.url,
      upstream_url: audio.url,
      sha256: null,
    });
  });

  it('a speech line keeps its speech request, kind, voice and cost', () => {
    const line: CloneJobRow = {
      ...job,
      kind: 'speech',
      voiceId: batch.voiceId,
      request: { model: 'speech-02-hd', text: 'Hello.', speed: 1.2, pronunciation_dict: ['a/b'] },
      estimatedCost: 0.00186,
      actualCost: null,
    };
    roundTrips(cloneResponse, cloneResource(line, audio, view));
    expect(cloneResource(line, null, view)).toMatchObject({
      kind: 'speech',
      voice_id: batch.voiceId as string,
      request: { model: 'speech-02-hd', text: 'Hello.', speed: 1.2 },
      cost: { estimated: 0.00186, actual: null, currency: 'CNY' },
    });
    roundTrips(
      cloneResponse,
      cloneResource(
        {
          ...line,
          voiceId: null,
          request: { model: 'speech-02-turbo', text: 'Hi.', system_voice: 'Wise_Woman' },
        },
        null,
        view,
      ),
    );
  });

  it('a voice, cloning and ready, is what voiceResponse carries', () => {
    const voice: VoiceRow = {
      id: batch.voiceId as string,
      name: 'Narrator',
      status: 'ready',
      upstreamVoiceId: 'vx019abcde00027def8abc0123456789ab-456789ab1',
      audioUrl: null,
      settings: {
        model: 'speech-02-hd',
        need_noise_reduction: false,
        need_volume_normalization: true,
        accuracy: 0.8,
      },
      previewText: 'Hello there.',
      clones: 2,
      keepAlive: true,
      errorCode: null,
      errorMessage: null,
      metadata: { team: 'audio' },
      createdAt: at,
      readyAt: later,
      lastUsedAt: later,
      expiresAt: later,
    };
    const links = { baseUrl: 'https://voxline.example.com' };
    const preview = voiceResource(
      voice,
      { cost: { estimated: 6.24, actual: 3.12 }, preview: { ...archived, cloneJobId: batch.id } },
      links,
    );
    roundTrips(voiceResponse, preview);
    // An archived preview is linked at voxline's copy, like any clone's audio.
    expect(preview.preview?.url).toBe(`https://voxline.example.com/v1/clones/${batch.id}/audio`);
    expect(preview.preview?.upstream_url).toBe(archived.url);
    roundTrips(
      voiceResponse,
      voiceResource(
        {
          ...voice,
          status: 'failed',
          audioUrl: 'https://example.com/ref.wav',
          errorCode: '2037',
          errorMessage: 'too short',
        },
        { cost: { estimated: 3.12, actual: null }, preview: null },
        links,
      ),
    );
  });

  it('a batch, accepted and with its counts, is what the batch schemas carry', () => {
    const cost = { estimated: 3.43, actual: null, reused: 2, saved: 6.24 };
    roundTrips(batchResponse, batchResource(batch, counts, cost));
    roundTrips(
      batchResponse,
      batchResource({ ...batch, voiceId: null, maxCost: null }, counts, cost),
    );
    roundTrips(batchAcceptedResponse, acceptedBatch({ ...batch, status: 'running' }, cost));
  });

  it('a dead letter, an API key, an endpoint, a delivery and a rotated secret', () => {
    roundTrips(
      deadLetterResponse,
      deadLetterResource({
        id: '019abcde-0001-7def-8abc-0123456789ab',
        cloneJobId: job.id,
        batchId: null,
        sourceQueue: 'clone-submit',
        bullJobId: `${job.id}:1`,
        run: 1,
        attempts: 3,
        errorCode: '1505',
        errorMessage: 'real person prohibited',
        lastResponse: { code: 1505 },
        createdAt: at,
        redrivenAt: null,
      }),
    );
    roundTrips(
      apiKeyResponse,
      apiKeyResource({
        id: 'k1',
        tenantId: 't1',
        prefix: 'vxl_abcdefgh',
        createdAt: at,
        revokedAt: later,
      }),
    );
    roundTrips(
      endpointResponse,
      endpointResource({
        id: 'e1',
        url: 'https://example.com/hook',
        eventTypes: ['clone.succeeded'],
        description: null,
        disabledAt: later,
        disabledReason: 'gone (410)',
        lastSuccessAt: at,
        failingSince: null,
        createdAt: at,
      }),
    );
    const delivery = {
      delivery: {
        id: 'd1',
        endpointId: 'e1',
        url: 'https://example.com/hook',
        status: 'pending' as const,
        attempts: 1,
        nextAttemptAt: later,
        lastStatusCode: 500,
        lastError: null,
        createdAt: at,
        completedAt: null,
      },
      event: { id: 'msg_1', type: 'clone.succeeded', cloneJobId: job.id, batchId: null },
      attempts: [
        {
          attempt: 1,
          statusCode: 500,
          durationMs: 12,
          responseExcerpt: 'oops',
          error: null,
          createdAt: at,
        },
      ],
    };
    roundTrips(deliveryResponse, deliveryResource(delivery));
    // Only a pending delivery has a next attempt.
    expect(
      deliveryResource({ ...delivery, delivery: { ...delivery.delivery, status: 'failed' } })
        .next_attempt_at,
    ).toBeNull();
    roundTrips(
      secretResponse,
      secretResource({ secret: 'whsec_x', rotatedAt: at, previousExpiresAt: later }),
    );
  });
});
