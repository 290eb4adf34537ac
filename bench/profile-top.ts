/**
 * The hottest functions of a V8 `.cpuprofile` (from `BENCH_CPU_PROF=<dir> pnpm bench …`),
 * by self time, with their share of the sampled time and where they are defined.
 *
 *   node bench/profile-top.ts <file.cpuprofile> [count=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (ms), summed over every node with the same name and location. */
export function topFunctions(
  profile: CpuProfile,
  count: number,
): Array<{ name: string; where: string; ms: number; share: number }> {
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const node = byNode.get(id);
    const delta = (profile.timeDeltas[index] ?? 0) / 1000;
    if (!node) return;
    total += delta;
    const frame = node.callFrame;
    const url = frame.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '');
    const key = `${frame.functionName || '(anonymous)'}\t${url.replace(/.*\/work\/main\//, '')}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + delta);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, ms]) => {
      const [name = '', where = ''] = key.split('\t');
      return { name, where, ms, share: ms / total };
    });
}

if (process.argv[1]?.endsWith('profile-top.ts')) {
  const file = process.argv[2];
  if (!file) throw new Error('Usage: node bench/profile-top.ts <file.cpuprofile> [count]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  for (const row of topFunctions(profile, Number(process.argv[3] ?? 25))) {
    console.log(
      `${(row.share * 100).toFixed(1).padStart(5)}%  ${row.ms.toFixed(0).padStart(6)} ms  ${row.name}  ${row.where}`,
    );
  }
}
