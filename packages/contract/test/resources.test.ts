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
};
const batch = {
  id: job.batchId as string,
  status: 'completed' as const,
  total: 2,
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
    roundTrips(cloneResponse, cloneResource(job, audio));
    roundTrips(
      cloneResponse,
      cloneResource({ ...job, status: 'failed', errorCode: '1505', errorMessage: 'no' }, null),
    );
    expect(cloneResource(job, { ...audio, usage: null }).audio?.usage).toBeNull();
  });

  it('a batch, accepted and with its counts, is what the batch schemas carry', () => {
    roundTrips(batchResponse, batchResource(batch, counts));
    roundTrips(batchAcceptedResponse, acceptedBatch({ ...batch, status: 'running' }));
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
