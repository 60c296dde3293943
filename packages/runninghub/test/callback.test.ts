import { describe, expect, it } from 'vitest';
import { isTaskCallbackError, parseTaskCallback, TaskCallbackError } from '../src/index.js';

const BIG_ID = '2013508786110730241';
const success = {
  taskId: BIG_ID,
  status: 'SUCCESS',
  errorCode: '',
  errorMessage: '',
  results: [{ url: 'https://rh.example/files/out.wav', outputType: 'wav', text: null }],
  usage: { consumeMoney: '0.031', consumeCoins: null, taskCostTime: '4' },
};

function thrown(body: unknown): TaskCallbackError {
  try {
    parseTaskCallback(body);
  } catch (error) {
    expect(isTaskCallbackError(error)).toBe(true);
    return error as TaskCallbackError;
  }
  throw new Error('parseTaskCallback accepted the body');
}

describe('parseTaskCallback', () => {
  it('reads eventData sent as a JSON string (v1, documented)', () => {
    const callback = parseTaskCallback({
      event: 'TASK_END',
      taskId: BIG_ID,
      eventData: JSON.stringify(success),
    });
    expect(callback.event).toBe('TASK_END');
    expect(callback.taskId).toBe(BIG_ID);
    expect(callback.task).toMatchObject({
      taskId: BIG_ID,
      status: 'SUCCESS',
      terminal: true,
      audio: { url: 'https://rh.example/files/out.wav', type: 'wav' },
      usage: { consumeMoney: '0.031', consumeCoins: null, thirdPartyConsumeMoney: null },
    });
  });

  it('reads eventData sent as an object (seen on v2), with codes as numbers', () => {
    const failed = { taskId: BIG_ID, status: 'failed', errorCode: 1005, errorMessage: 'boom' };
    const callback = parseTaskCallback({ event: 'TASK_END', taskId: BIG_ID, eventData: failed });
    expect(callback.task).toMatchObject({ status: 'FAILED', terminal: true, errorCode: '1005' });
  });

  it('keeps an unquoted task id above 2^53 exact when given the raw text or bytes', () => {
    const inner = `{"taskId": ${BIG_ID}, "status": "SUCCESS"}`;
    const text = `{"event":"TASK_END","taskId":${BIG_ID},"eventData":${JSON.stringify(inner)}}`;
    for (const body of [text, new TextEncoder().encode(text)]) {
      const callback = parseTaskCallback(body);
      expect(callback.taskId).toBe(BIG_ID);
      expect(callback.task?.taskId).toBe(BIG_ID);
    }
    // Parsed by a plain JSON.parse, the id has lost its last digits: refused, not misread.
    expect(thrown(JSON.parse(text)).reason).toContain('lost its digits');
  });

  it('tolerates absent, null and empty fields', () => {
    expect(parseTaskCallback({ taskId: BIG_ID })).toEqual({
      event: '',
      taskId: BIG_ID,
      task: null,
    });
    expect(parseTaskCallback({ event: null, taskId: ` ${BIG_ID} `, eventData: null })).toEqual({
      event: '',
      taskId: BIG_ID,
      task: null,
    });
    expect(parseTaskCallback({ event: 'TASK_END', taskId: BIG_ID, eventData: '' }).task).toBeNull();
    // A small numeric id is exact as a number.
    expect(parseTaskCallback({ taskId: 12345 }).taskId).toBe('12345');
  });

  it('takes the task id from eventData when the body has none', () => {
    const callback = parseTaskCallback({ event: 'TASK_END', taskId: '', eventData: success });
    expect(callback.taskId).toBe(BIG_ID);
    expect(callback.task?.status).toBe('SUCCESS');
  });

  it('gives the body task id to an eventData that has none', () => {
    const callback = parseTaskCallback({ taskId: BIG_ID, eventData: { status: 'SUCCESS' } });
    expect(callback.task).toMatchObject({ taskId: BIG_ID, status: 'SUCCESS' });
  });

  it('reads a damaged eventData as no task, keeping the id to query', () => {
    for (const eventData of ['{"taskId": "1', '[1,2]', 42, { status: 7 }]) {
      expect(parseTaskCallback({ event: 'TASK_END', taskId: BIG_ID, eventData })).toEqual({
        event: 'TASK_END',
        taskId: BIG_ID,
        task: null,
      });
    }
  });

  it('refuses bodies that name no task, or two', () => {
    expect(thrown('not json').reason).toBe('body is not JSON');
    expect(thrown('').reason).toBe('body is not JSON');
    expect(thrown(null).reason).toBe('body is not a JSON object');
    expect(thrown('[1]').reason).toBe('body is not a JSON object');
    expect(thrown({ event: 'TASK_END' }).reason).toBe('no taskId');
    expect(thrown({ taskId: 'abc' }).reason).toBe('taskId is not decimal');
    expect(thrown({ taskId: { id: 1 } }).reason).toBe('taskId is not a string');
    const other = { ...success, taskId: '2013508786110730242' };
    expect(thrown({ taskId: BIG_ID, eventData: other }).reason).toBe(
      'taskId and eventData name different tasks',
    );
    const error = thrown('x'.repeat(5_000));
    expect(error).toBeInstanceOf(TaskCallbackError);
    expect(error.message).toBe('RunningHub callback unreadable: body is not JSON');
    expect(String(error.raw).length).toBe(500);
  });
});
