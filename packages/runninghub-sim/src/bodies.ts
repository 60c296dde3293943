import { createHash } from 'node:crypto';
import type { SimEndpoint } from './faults.js';
import type { LinkSigner } from './links.js';
import { messageFor } from './messages.js';
import { type SimTask, statusAt } from './tasks.js';

/** What a route sends: a JSON body (or an HTML string), possibly damaged or late. */
export interface SimReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  damage?: 'malformedJson' | 'truncatedJson';
  delayMs?: number;
}

export interface ResultLinks {
  baseUrl: string;
  signer: LinkSigner;
  ttlMs: number;
}

// As upstream sends it: a JSON document inside a string.
const PROMPT_TIPS = JSON.stringify({
  result: true,
  error: null,
  outputs_to_execute: ['4'],
  node_errors: {},
});

/** The submit/query body of a task, as upstream shapes it at `now`. */
export function taskBody(task: SimTask, now: number, links: ResultLinks): Record<string, unknown> {
  const status = statusAt(task, now);
  const body: Record<string, unknown> = {
    taskId: task.taskId,
    status,
    errorCode: '',
    errorMessage: '',
    results: null,
    // 32 hex digits like upstream's, stable per key.
    clientId: createHash('md5').update(task.keyLabel).digest('hex'),
    promptTips: PROMPT_TIPS,
  };
  if (status === 'SUCCESS' && task.finishesAt !== null) {
    const expires = task.finishesAt + links.ttlMs;
    const type = task.speech.format;
    const url = `${links.baseUrl}/files/${task.taskId}.${type}?${links.signer.query(task.taskId, expires)}`;
    body.results = [{ url, outputType: type, text: null }];
    body.usage = {
      consumeMoney: task.price,
      consumeCoins: String(Math.round(Number(task.price) * 100)),
      taskCostTime: String(Math.max(1, Math.round((task.finishesAt - task.createdAt) / 1000))),
      thirdPartyConsumeMoney: task.price,
    };
  }
  if (status === 'FAILED' && task.failCode) {
    body.errorCode = task.failCode;
    body.errorMessage = task.failMessage ?? '';
    body.failedReason = {
      exception_message: task.failMessage ?? '',
      exception_type: 'RuntimeError',
      node_id: '4',
      node_name: task.kind === 'speech' ? 'RH_MiniMaxSpeech' : 'RH_VoiceClone',
      traceback: [],
    };
  }
  return body;
}

/** A query for a task upstream does not have (never existed, expired, another key's). */
export function taskNotFoundReply(taskId: string): SimReply {
  return {
    status: 200,
    body: {
      taskId,
      status: '',
      errorCode: '1004',
      errorMessage: messageFor('1004'),
      results: null,
      failedReason: {},
      usage: null,
    },
  };
}

/** An error in the envelope of its endpoint: errorCode for v2 tasks, code for media and v1. */
export function errorReply(
  endpoint: SimEndpoint,
  code: string,
  message = messageFor(code),
): SimReply {
  if (endpoint === 'upload') return { status: 200, body: { code: Number(code), message } };
  if (endpoint === 'cancel') return { status: 200, body: { code: Number(code), msg: message } };
  return {
    status: 200,
    body: {
      taskId: '',
      status: '',
      errorCode: code,
      errorMessage: message,
      results: null,
      clientId: '',
      promptTips: '',
    },
  };
}
