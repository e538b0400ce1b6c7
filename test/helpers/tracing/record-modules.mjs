// Preloaded with --import: records the URL of every module the process resolves through the
// ESM loader (Node's customization hooks), for tests that check what a process loads.
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
const loaded = new Set();
port1.on('message', (url) => loaded.add(url));
port1.unref();
register('./record-modules-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });
globalThis.__loadedModules = loaded;
