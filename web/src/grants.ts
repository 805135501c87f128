// What the signed-in key may do (GET /v1/me), so the console shows only that: no Review without calls:review, no
// backfill run or replay without calls:reanalyze. The API refuses the rest anyway; this spares the user the 403s.
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";
import { storedApiKey } from "./session.js";

export interface Grants {
  auth: boolean;
  name: string | null;
  scopes: string[];
  /** null: every profile. */
  profiles: string[] | null;
}

/** One look-up per key, shared by every component on the page. */
let cached: { key: string | undefined; grants: Promise<Grants | undefined> } | undefined;

function grantsOf(key: string | undefined): Promise<Grants | undefined> {
  if (cached === undefined || cached.key !== key) cached = { key, grants: api.get<Grants>("/v1/me").catch(() => undefined) };
  return cached.grants;
}

/** Undefined until known: what depends on a scope stays hidden until the key is known to hold it. */
export function useGrants(): Grants | undefined {
  const key = storedApiKey();
  const [grants, setGrants] = useState<Grants | undefined>(undefined);
  useEffect(() => {
    // Signed out while the API needs a key: asking would only be refused (and a 401 sends the tab to sign-in).
    if (key === undefined && authRequired()) return;
    let current = true;
    void grantsOf(key).then((found) => current && setGrants(found));
    return () => {
      current = false;
    };
  }, [key]);
  return grants;
}

/** The service says on the page whether its API needs a key (see src/http/routes/console.ts). */
const authRequired = () => document.querySelector('meta[name="debrief-auth"]')?.getAttribute("content") === "required";

export function may(grants: Grants | undefined, scope: string): boolean {
  return grants !== undefined && (grants.scopes.includes(scope) || grants.scopes.includes("admin"));
}
