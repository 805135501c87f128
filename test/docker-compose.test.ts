// docker-compose.yml cannot be run here (no Docker engine): it is read as Compose would read it, and every setting and
// mount the Debrief services rely on is checked against the code that will read them.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { loadPipelineConfig } from "../src/configuration/index.js";
import { loadSettings } from "../src/settings.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

interface Service {
  image?: string;
  build?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, "utf8"), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };

/** Compose's interpolation of `${NAME:-default}` with nothing set in the shell: the defaults. */
function interpolate(environment: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1")]));
}

const debriefServices = Object.entries(compose.services).filter(([, service]) => service.build === ".");

describe("docker-compose.yml", () => {
  it("runs PostgreSQL, Redis, an api instance and a worker instance", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["api", "postgres", "redis", "worker"]);
    expect(debriefServices.map(([name, service]) => [name, service.environment!.DEBRIEF_ROLE])).toEqual([
      ["api", "api"],
      ["worker", "worker"],
    ]);
    expect(compose.services.api!.ports).toEqual(["8080:8080"]);
    expect(compose.services.worker!.ports).toBeUndefined();
  });

  it("starts Debrief once its database and Redis answer", () => {
    for (const [, service] of debriefServices) {
      expect(service.depends_on).toEqual({ postgres: { condition: "service_healthy" }, redis: { condition: "service_healthy" } });
    }
    expect(compose.services.postgres!.healthcheck!.test.join(" ")).toContain("pg_isready");
    expect(compose.services.redis!.healthcheck!.test).toContain("ping");
  });

  it("points both instances at the compose PostgreSQL and Redis, with settings Debrief accepts", () => {
    const postgres = compose.services.postgres!.environment!;
    for (const [name, service] of debriefServices) {
      const env = interpolate(service.environment!);
      const url = new URL(env.DEBRIEF_DATABASE_URL!);
      expect([url.hostname, url.username, url.password, url.pathname], name).toEqual(["postgres", postgres.POSTGRES_USER, postgres.POSTGRES_PASSWORD, `/${postgres.POSTGRES_DB}`]);
      expect(new URL(env.DEBRIEF_REDIS_URL!).hostname).toBe("redis");
      const settings = loadSettings(env);
      expect(settings).toMatchObject({ role: name, configFile: "/config/debrief.json", cache: { redisUrl: "redis://redis:6379" } });
    }
  });

  it("mounts a configuration file that validates with the environment it is given", () => {
    for (const [, service] of debriefServices) {
      const mount = service.volumes!.find((volume) => volume.endsWith(":/config/debrief.json:ro"))!;
      const source = `${ROOT}${mount.split(":")[0]!.replace(/^\.\//, "")}`;
      expect(existsSync(source)).toBe(true);
      const env = interpolate(service.environment!);
      const config = loadPipelineConfig(source, env, loadSettings(env).limits);
      expect([...config.profiles.keys()]).toEqual(["booking"]);
      expect(config.destinations.get("crm")!.url).toBe("https://crm.example.com/hooks/calls");
    }
    expect(Object.keys(compose.volumes)).toEqual(["postgres-data"]);
  });
});
