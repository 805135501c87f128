// Reads a V8 .cpuprofile (from `node --cpu-prof`) and sums self time by function and by area (a Debrief source
// file, a package, Node's internals, the garbage collector), so the report can say where the time goes.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileItem {
  name: string;
  /** Where it lives: `src/transcript/tokens.ts:24`, `node_modules/zod`, `node:internal/…`. */
  where: string;
  selfMs: number;
  /** Share of the busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  /** Sampled wall time of the profile. */
  totalMs: number;
  /** Sampled time that was not (idle). */
  busyMs: number;
  topFunctions: ProfileItem[];
  topAreas: ProfileItem[];
}

/** Nodes V8 adds that are not functions: reported as areas of their own. */
const V8_PSEUDO_NODES = new Set(["(garbage collector)", "(program)", "(root)"]);

/** `file:///…/dist/src/x/y.js` → `src/x/y.ts`; `…/node_modules/pkg/…` → `node_modules/pkg`. */
function area(url: string, root: string): string {
  if (!url) return "(native)";
  // Debrief's only WebAssembly is tiktoken's BPE encoder.
  if (url.startsWith("wasm://")) return "wasm (tiktoken)";
  if (url.startsWith("node:")) return url.startsWith("node:internal") ? "node:internal" : url;
  const path = url.replace(/^file:\/\//, "");
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (modules) return `node_modules/${modules[1]}`;
  const relative = path.startsWith(root) ? path.slice(root.length).replace(/^\//, "") : path;
  return relative.replace(/^dist\/src\//, "src/").replace(/\.js$/, ".ts");
}

function location(frame: ProfileNode["callFrame"], root: string): string {
  const where = area(frame.url, root);
  // Line numbers of dist/ are close to, not equal to, the source's; the file and function name are what matter.
  return where.startsWith("src/") ? `${where}:${frame.lineNumber + 1} (dist line)` : where;
}

/**
 * Self time per function over the samples taken after `skipFirstMs` of the profile (start-up and module loading are
 * not what the bench asks about), as the `top` functions and the `top` areas.
 */
export function summarizeProfile(file: string, root: string, options: { top?: number; skipFirstMs?: number } = {}): ProfileSummary {
  const top = options.top ?? 10;
  const skipUs = (options.skipFirstMs ?? 0) * 1000;
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  let elapsedUs = 0;
  // timeDeltas[i] is the time since the previous sample: it belongs to sample i-1, which was running until now.
  for (let i = 0; i < profile.samples.length; i += 1) {
    elapsedUs += profile.timeDeltas[i] ?? 0;
    if (elapsedUs < skipUs) continue;
    const id = profile.samples[i]!;
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, delta));
  }
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const name = node.callFrame.functionName || "(anonymous)";
    if (name === "(idle)") {
      idleUs += us;
      continue;
    }
    const where = location(node.callFrame, root);
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const group = V8_PSEUDO_NODES.has(name) ? name : area(node.callFrame.url, root);
    areas.set(group, (areas.get(group) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const item = (name: string, where: string, us: number): ProfileItem => ({
    name,
    where,
    selfMs: Math.round(us / 100) / 10,
    percent: busyUs ? Math.round((1000 * us) / busyUs) / 10 : 0,
  });
  return {
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    topFunctions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => item(f.name, f.where, f.us)),
    topAreas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => item(name, name, us)),
  };
}
