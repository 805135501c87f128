// A PostgreSQL database of its own for a test file: created with a random name on the machine's server, dropped after.
import { randomBytes } from "node:crypto";
import pg from "pg";

const HOST = "127.0.0.1:5432";
/** Trust auth on loopback: `postgres` where it exists, else `root` (see .ci/run). */
const USERS = ["postgres", "root"];

let admin: Promise<string> | undefined;

/** The first user that can connect to the `test` database. */
async function adminUrl(): Promise<string> {
  admin ??= (async () => {
    const errors: string[] = [];
    for (const user of USERS) {
      const url = `postgres://${user}@${HOST}/test`;
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.end();
        return url;
      } catch (error) {
        errors.push(`${user}: ${(error as Error).message}`);
        await client.end().catch(() => undefined);
      }
    }
    throw new Error(`no PostgreSQL at ${HOST} (start it with .ci/run): ${errors.join("; ")}`);
  })();
  return admin;
}

async function asAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: await adminUrl() });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  /** Runs SQL on the test database over a fresh connection (to look at what is stored, or break it). */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `debrief_test_${randomBytes(6).toString("hex")}`;
  await asAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(await adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async query(sql, params) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    drop: () => asAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
