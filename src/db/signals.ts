// Wake-ups for the workers: "a call was accepted", "a delivery was queued", and "the configuration was reloaded". In one
// process they are plain events; on PostgreSQL they also go through LISTEN/NOTIFY, so an API instance's accepted call
// wakes the workers of every instance, and a reload on one instance reloads them all. Work signals only shorten the
// wait: workers still poll, so a lost signal delays work by one poll interval, never loses it. A lost reload signal is
// made up for when the LISTEN connection comes back (every channel is signalled then).
import { EventEmitter } from "node:events";
import pg from "pg";
import { errorKind, OUTAGE_LOG_INTERVAL_MS, throttleLogs, type ThrottledWarn } from "../lib/throttled-warning.js";
import type { Logger } from "../logger.js";
import { connectionConfig } from "./postgres.js";

export const WORK_CHANNELS = ["calls", "deliveries", "config"] as const;
export type WorkChannel = (typeof WORK_CHANNELS)[number];

export interface WorkSignals {
  /** Tells the workers of every instance (this one's included) that work on `channel` may be due now. Never throws. */
  notify(channel: WorkChannel): void;
  /** `listener` runs on each notify from any instance, and after a lost connection comes back (work may have been missed). */
  subscribe(channel: WorkChannel, listener: () => void): void;
  close(): Promise<void>;
}

/** One process: the store is not shared, so the signal never needs to leave it. */
export class LocalSignals implements WorkSignals {
  protected readonly events = new EventEmitter();

  notify(channel: WorkChannel): void {
    this.events.emit(channel);
  }

  subscribe(channel: WorkChannel, listener: () => void): void {
    this.events.on(channel, listener);
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }
}

const pgChannel = (channel: WorkChannel) => `debrief_${channel}`;

export interface PostgresSignalsOptions {
  url: string;
  /** Where NOTIFY is sent from (any connection will do). */
  pool: pg.Pool;
  logger: Logger;
  /** First reconnect delay; doubles up to maxBackoffMs. Defaults 250 ms and 30 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Times the throttling of repeated warnings; injectable for tests. */
  clock?: () => number;
}

/**
 * LISTENs on a dedicated connection (a pooled one would be handed to queries and lose its LISTENs). When that connection
 * drops it reconnects with backoff, and wakes every subscriber once it is back.
 */
export class PostgresSignals extends LocalSignals {
  readonly #options: PostgresSignalsOptions;
  readonly #warn: ThrottledWarn;
  #client: pg.Client | undefined;
  #retry: NodeJS.Timeout | undefined;
  #backoffMs: number;
  #closed = false;
  /** A connection was lost (or never made): notifications may have been missed since. */
  #missed = false;
  /** Settles when the first LISTEN is in place (or has failed and a retry is scheduled). */
  readonly ready: Promise<void>;

  constructor(options: PostgresSignalsOptions) {
    super();
    this.#options = options;
    // Through an outage every reconnect fails the same way: one line per kind every 10 s, with a count.
    this.#warn = throttleLogs(options.logger, { intervalMs: OUTAGE_LOG_INTERVAL_MS, clock: options.clock });
    this.#backoffMs = options.initialBackoffMs ?? 250;
    this.ready = this.#connect();
  }

  override notify(channel: WorkChannel): void {
    // Locally at once: this instance's workers need not wait for the round trip through the server.
    super.notify(channel);
    this.#options.pool.query("SELECT pg_notify($1, '')", [pgChannel(channel)]).catch((error: unknown) => {
      this.#warn(`notify:${errorKind(error)}`, { err: error, channel }, "could not NOTIFY other instances; their workers will find the work at their next poll");
    });
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client(connectionConfig(this.#options.url, "debrief:listen"));
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      client.removeAllListeners("notification");
      client.end().catch(() => undefined);
      if (this.#client === client) this.#client = undefined;
      if (this.#closed) return;
      this.#missed = true;
      this.#warn(`listen:${errorKind(error)}`, { err: error, retry_in_ms: this.#backoffMs }, "lost the PostgreSQL LISTEN connection; reconnecting (workers keep polling meanwhile)");
      this.#scheduleReconnect();
    };
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", (message) => {
      const channel = WORK_CHANNELS.find((name) => pgChannel(name) === message.channel);
      if (channel) this.events.emit(channel);
    });
    try {
      await client.connect();
      await client.query(WORK_CHANNELS.map((name) => `LISTEN ${pgChannel(name)}`).join("; "));
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#backoffMs = this.#options.initialBackoffMs ?? 250;
    if (this.#missed) {
      this.#missed = false;
      this.#options.logger.info("PostgreSQL LISTEN connection restored");
      // Whatever was notified while we were away was missed: look now.
      for (const channel of WORK_CHANNELS) this.events.emit(channel);
    }
  }

  #scheduleReconnect(): void {
    clearTimeout(this.#retry);
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.maxBackoffMs ?? 30_000);
    this.#retry = setTimeout(() => void this.#connect(), delay);
    this.#retry.unref();
  }

  override async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
    await super.close();
  }
}
