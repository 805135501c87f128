// The configuration as it is now: loaded at start-up, replaced by a reload (SIGHUP, POST /v1/admin/reload, or another
// instance's reload on a shared PostgreSQL database). Routes and workers read `current` each time they use it.
import { createHash } from "node:crypto";
import { ConfigError, type ConfigIssue } from "../errors.js";
import type { Logger } from "../logger.js";
import { environmentKey } from "../access/index.js";
import type { VariableLimits } from "../schema/index.js";
import { parsePipelineConfig, readConfigText, type PipelineConfig } from "./config-file.js";
import { profileVersion, type AnswerSettings } from "./profile-version.js";

export interface ConfigSource {
  readonly current: PipelineConfig;
}

/** A profile as reload and start-up report it: its version is what its calls' extractions are compared with. */
export interface ProfileSummary {
  name: string;
  version: string;
  destinations: string[];
}

/** A reload that used the file (`changed`: false when its text was the one already running). */
export interface ReloadedReport {
  ok: true;
  changed: boolean;
  profiles: ProfileSummary[];
  destinations: string[];
}

export type ReloadReport =
  | ReloadedReport
  /** The new file was not used: every problem in it, and the configuration that keeps running. */
  | { ok: false; issues: ConfigIssue[] };

export interface ConfigHolderOptions {
  file: string;
  /** Parses and compiles a file's text; throws ConfigError naming every problem. */
  parse: (file: string, text: string) => PipelineConfig;
  answers: AnswerSettings;
  logger: Logger;
  /** How many keys DEBRIEF_API_KEYS holds: with none, the file's keys are what keeps authentication on. */
  environmentKeys?: number;
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

export class PipelineConfigHolder implements ConfigSource {
  readonly #options: ConfigHolderOptions;
  #current: PipelineConfig;
  /** The loaded file's digest: a reload of the same text (this instance's own NOTIFY coming back) changes nothing. */
  #digest: string;
  readonly #listeners = new Set<(config: PipelineConfig) => void>();

  /** Loads the file now; throws ConfigError (every problem in it) when it is invalid: a bad file stops start-up. */
  constructor(options: ConfigHolderOptions) {
    this.#options = options;
    const text = readConfigText(options.file);
    this.#current = options.parse(options.file, text);
    this.#digest = digest(text);
    // Valid (it is the default), but a secret then proves less than it could: said once, at start-up.
    for (const profile of this.#current.profiles.values()) {
      if (profile.source !== "auto" || profile.inbound?.secret === undefined) continue;
      options.logger.warn(
        { profile: profile.name },
        `profile "${profile.name}" has inbound.secret with source "auto": set "source" to the platform that posts to it (e.g. "retell"), so only that platform's signature is accepted; a Synthflow signature is accepted only with "source": "synthflow"`,
      );
    }
  }

  get current(): PipelineConfig {
    return this.#current;
  }

  /** Each profile with its version, in the file's order. */
  profiles(): ProfileSummary[] {
    return [...this.#current.profiles.values()].map((profile) => ({
      name: profile.name,
      version: profileVersion(profile, this.#options.answers),
      destinations: profile.destinations.map((destination) => destination.name),
    }));
  }

  /** Told after each reload that changed the configuration. */
  onChange(listener: (config: PipelineConfig) => void): void {
    this.#listeners.add(listener);
  }

  /**
   * Reads and compiles the file again. Valid: it replaces the configuration (work in flight finishes with the one it
   * started with). Invalid: the configuration running now stays, and the report lists every problem. Never throws.
   */
  reload(): ReloadReport {
    const { file, parse, logger } = this.#options;
    let text: string;
    let config: PipelineConfig;
    try {
      text = readConfigText(file);
      if (digest(text) === this.#digest) return this.#report(false);
      config = parse(file, text);
      // Authentication once on stays on: a file that drops its last key must not open the service to anyone.
      if ((this.#options.environmentKeys ?? 0) === 0 && this.#current.keys.length > 0 && config.keys.length === 0) {
        throw new ConfigError([{ path: "keys", message: "would leave no API key while authentication is on: keep at least one key (or set DEBRIEF_API_KEYS)" }]);
      }
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      logger.error({ file, issues: error.issues }, "configuration not reloaded: the new file is invalid; the previous configuration keeps running");
      return { ok: false, issues: error.issues };
    }
    this.#current = config;
    this.#digest = digest(text);
    const report = this.#report(true);
    logger.info({ file, profiles: report.profiles, destinations: report.destinations }, "configuration reloaded");
    for (const listener of this.#listeners) listener(config);
    return report;
  }

  #report(changed: boolean): ReloadedReport {
    return { ok: true, changed, profiles: this.profiles(), destinations: [...this.#current.destinations.keys()] };
  }
}

/** The holder for a DEBRIEF_CONFIG file, parsed the way start-up parses it. */
export function holdPipelineConfig(
  options: Omit<ConfigHolderOptions, "parse" | "environmentKeys"> & {
    env: Record<string, string | undefined>;
    limits: VariableLimits;
    allowPrivate: boolean;
    /** DEBRIEF_API_KEYS: a file key may not repeat one, and while one is set the file may hold none. */
    apiKeys?: readonly string[];
  },
): PipelineConfigHolder {
  const environmentKeys = new Map((options.apiKeys ?? []).map((key) => [environmentKey(key).sha256.toString("hex"), "a key of DEBRIEF_API_KEYS"]));
  return new PipelineConfigHolder({
    ...options,
    environmentKeys: environmentKeys.size,
    parse: (file, text) => parsePipelineConfig(file, text, options.env, options.limits, { allowPrivate: options.allowPrivate, environmentKeys }),
  });
}
