// The entry of the webhook sender's thread (sender-thread.ts says why it has one): the same
// sender as inline, on a pool and a LISTEN connection of its own, with the real clock. Its
// monitor events go to the instance's thread in batches (metrics there); its log lines go to
// the same stderr, marked `thread: webhook-sender`.
import { parentPort, workerData } from 'node:worker_threads';
import { APPLICATION_NAME, openDatabase } from '../db/client.js';
import { createLogger } from '../ops/logger.js';
import { inlineSender } from './index.js';
import { SecretBox } from './secret-box.js';
import {
  MONITOR_FLUSH_MS,
  SENDER_THREAD_POOL_SIZE,
  type FromThread,
  type MonitorRecord,
  type SenderThreadData,
  type ToThread,
} from './sender-thread.js';

const port = parentPort!;
const { config, postgres } = workerData as SenderThreadData;
const log = createLogger(config.logLevel).child({ thread: 'webhook-sender' });
const db = await openDatabase({
  kind: 'postgres',
  ...postgres,
  poolSize: SENDER_THREAD_POOL_SIZE,
  applicationName: `${APPLICATION_NAME} webhook sender`,
});
const sender = inlineSender(config, db, new SecretBox(config.webhookSecretKey), { now: () => new Date(), log });

const send = (msg: FromThread) => port.postMessage(msg);
let pending: MonitorRecord[] = [];
let flushTimer: NodeJS.Timeout | undefined;
const flush = () => {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (pending.length === 0) return;
  send({ type: 'events', events: pending });
  pending = [];
};
const forward = (record: MonitorRecord) => {
  pending.push(record);
  flushTimer ??= setTimeout(flush, MONITOR_FLUSH_MS);
};
sender.monitor.on('attempt', (...args) => forward(['attempt', ...args]));
sender.monitor.on('queued', (...args) => forward(['queued', ...args]));
sender.monitor.on('failed', (...args) => forward(['failed', ...args]));
sender.monitor.on('recorded', (...args) => forward(['recorded', ...args]));

port.on('message', (msg: ToThread) => {
  if (msg.type === 'wake') {
    void sender.wake().finally(() => {
      flush();
      send({ type: 'woken', id: msg.id });
    });
  } else {
    void (async () => {
      await sender.close();
      flush();
      await db.close();
      // Nothing is left to keep the thread alive: it exits, and the instance's close() returns.
      port.close();
    })();
  }
});
sender.start();
send({ type: 'started' });
