/** `central serve` assembled: the store, the MQTT service and the web console, started and stopped together. */
import type { Logger } from '../log';
import type { CentralConfig } from './config';
import { CentralService } from './service';
import type { CentralStore } from './store';
import { openPostgresStore } from './store-postgres';
import { openSqliteStore } from './store-sqlite';
import { ConsoleWeb } from './web';

export async function openStore(cfg: CentralConfig): Promise<CentralStore> {
  const store = cfg.store.kind === 'sqlite' ? openSqliteStore(cfg.store.file) : await openPostgresStore(cfg.store.url);
  await store.init();
  return store;
}

export interface RunningConsole {
  url: string;
  service: CentralService;
  store: CentralStore;
  close(): Promise<void>;
}

export async function startConsole(cfg: CentralConfig, logger: Logger, opts: { connectTimeoutS?: number } = {}): Promise<RunningConsole> {
  const store = await openStore(cfg);
  let service: CentralService | undefined;
  try {
    service = new CentralService(cfg, store, logger);
    await service.start(opts.connectTimeoutS);
    const web = await new ConsoleWeb(service, logger.child({ component: 'web' })).listen();
    const s = service;
    return {
      url: web.url,
      service: s,
      store,
      close: async () => {
        await web.close();
        await s.stop();
        await store.close();
      },
    };
  } catch (err) {
    await service?.stop();
    await store.close();
    throw err;
  }
}
