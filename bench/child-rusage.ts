/**
 * Preloaded into measured `honk` processes (`node --import bench/child-rusage.ts …`): at exit
 * it writes the process's own resource usage (peak RSS, CPU time; worker threads included)
 * as JSON to file descriptor 3, which the bench opened as a pipe.
 */
import { writeSync } from 'node:fs';

process.on('exit', () => {
  try {
    writeSync(3, JSON.stringify(process.resourceUsage()));
  } catch {
    // Started without fd 3: nothing to report to.
  }
});
