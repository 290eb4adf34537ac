/**
 * The chunks of a dataset of part files (local files, S3 objects, HDFS files): whatever the
 * storage, a partition is a run of neighbouring parts in name order, and the parts are never
 * split. Shared by the file, S3 and HDFS sources so a `chunks: { max }` means the same on each.
 */

/**
 * Groups `items` (in their order) into at most `max` runs of neighbouring items of about
 * equal total `size`; every run holds at least one item. `max` defaults to one run per item.
 */
export function groupBySize<T>(items: readonly T[], max: number | undefined, size: (item: T) => number): T[][] {
  const limit = Math.max(1, Math.min(max ?? items.length, items.length));
  const total = items.reduce((sum, item) => sum + size(item), 0);
  const groups: T[][] = [];
  let current: T[] = [];
  let done = 0;
  for (const [index, item] of items.entries()) {
    current.push(item);
    done += size(item);
    const left = items.length - index - 1;
    const groupsLeft = limit - groups.length - 1;
    // Close a group at its share of the bytes, but keep one item for every group still to come.
    if (left > 0 && groupsLeft > 0 && (done >= (total * (groups.length + 1)) / limit || left === groupsLeft)) {
      groups.push(current);
      current = [];
    }
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * How a pinned listing differs from the listing now (both sorted names), in words for a
 * `SOURCE_CHANGED` message; undefined when the names are the same.
 */
export function listingChange(
  before: readonly string[],
  now: readonly string[],
): { name: string; why: string } | undefined {
  if (now.length === before.length && now.every((name, index) => name === before[index])) return undefined;
  const added = now.find((name) => !before.includes(name));
  if (added !== undefined) return { name: added, why: `"${added}" appeared` };
  const removed = before.find((name) => !now.includes(name));
  return {
    name: removed ?? before[0] ?? '',
    why: removed !== undefined ? `"${removed}" disappeared` : 'the listing changed',
  };
}
