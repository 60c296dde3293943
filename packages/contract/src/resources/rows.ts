import type {
  LanguageBoost,
  SpeechRequest,
  Usage,
  VoiceCloneModel,
  VoiceCloneParams,
} from '@voxline/runninghub';
import type {
  BatchStatus,
  CloneStatus,
  DeliveryStatus,
  TaskKind,
  VoiceStatus,
} from '../statuses.js';

/**
 * What each mapper reads of a stored row. @voxline/db depends on this package (its enums are
 * built from ../statuses.ts), so the mappers cannot name its row types; its rows satisfy these
 * shapes, and the compiler checks that wherever a row is mapped.
 */

export interface CloneJobRow {
  id: string;
  batchId: string | null;
  ref: string | null;
  status: CloneStatus;
  kind: TaskKind;
  voiceId: string | null;
  attempts: number;
  run: number;
  upstreamTaskId: string | null;
  request: VoiceCloneParams | SpeechRequest;
  estimatedCost: number;
  actualCost: number | null;
  reusedFrom: string | null;
  savedCost: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  metadata: Record<string, unknown> | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

export interface AudioResultRow {
  /** The upstream link (temporary). */
  url: string;
  outputType: string | null;
  urlExpiresAt: Date | null;
  usage: Usage | null;
  /** voxline's copy: null until archived (and for results from before the audio store). */
  storageKey: string | null;
  sha256: string | null;
  bytes: number | null;
  format: string | null;
  durationMs: number | null;
  sampleRate: number | null;
  channels: number | null;
  archivedAt: Date | null;
  purgedAt: Date | null;
}

export interface BatchRow {
  id: string;
  status: BatchStatus;
  total: number;
  voiceId: string | null;
  maxCost: number | null;
  metadata: Record<string, unknown> | null;
  createdAt: Date;
  completedAt: Date | null;
}

export interface DeadLetterRow {
  id: string;
  cloneJobId: string;
  batchId: string | null;
  sourceQueue: string;
  bullJobId: string;
  run: number;
  attempts: number;
  errorCode: string;
  errorMessage: string;
  lastResponse: unknown;
  createdAt: Date;
  redrivenAt: Date | null;
}

export interface WebhookEndpointRow {
  id: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  lastSuccessAt: Date | null;
  failingSince: Date | null;
  createdAt: Date;
}

export interface DeliveryRow {
  delivery: {
    id: string;
    endpointId: string | null;
    url: string;
    status: DeliveryStatus;
    attempts: number;
    nextAttemptAt: Date;
    lastStatusCode: number | null;
    lastError: string | null;
    createdAt: Date;
    completedAt: Date | null;
  };
  event: { id: string; type: string; cloneJobId: string | null; batchId: string | null };
  attempts: Array<{
    attempt: number;
    statusCode: number | null;
    durationMs: number;
    responseExcerpt: string | null;
    error: string | null;
    createdAt: Date;
  }>;
}

export interface ApiKeyRow {
  id: string;
  tenantId: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface VoiceRow {
  id: string;
  name: string | null;
  status: VoiceStatus;
  upstreamVoiceId: string | null;
  audioUrl: string | null;
  settings: {
    model: VoiceCloneModel;
    accuracy?: number;
    need_noise_reduction: boolean;
    need_volume_normalization: boolean;
    language_boost?: LanguageBoost;
  };
  previewText: string;
  clones: number;
  keepAlive: boolean;
  errorCode: string | null;
  errorMessage: string | null;
  metadata: Record<string, unknown> | null;
  createdAt: Date;
  readyAt: Date | null;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
}

export interface TenantRow {
  id: string;
  name: string;
  weight: number;
  requestsPerMinute: number | null;
  maxPendingLines: number | null;
  createdAt: Date;
}
