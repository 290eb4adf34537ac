/**
 * Puts this example's CSV part files into HDFS under `/warehouse/landing/orders/`, as an
 * export job would leave them (with its `_SUCCESS` marker). Run it against the emulator or a
 * cluster: `HDFS_URL=http://127.0.0.1:9870 node upload-data.ts`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWebHdfsClient } from '@honk/connectors-hdfs';

const data = fileURLToPath(new URL('./data/orders/', import.meta.url));

/** Uploads the part files; answers their HDFS paths. */
export async function uploadExampleData(url: string, user = 'etl'): Promise<string[]> {
  const client = createWebHdfsClient({ namenodes: [url], user });
  const written: string[] = [];
  for (const name of [...readdirSync(data).sort(), '_SUCCESS']) {
    const path = `/warehouse/landing/orders/${name}`;
    const upload = await client.create(path, { overwrite: true });
    if (name !== '_SUCCESS') await upload.write(readFileSync(join(data, name)));
    await upload.finish();
    written.push(path);
  }
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.env.HDFS_URL;
  if (!url) {
    console.error('Set HDFS_URL to the name node, e.g. HDFS_URL=http://127.0.0.1:9870 (see README.md).');
    process.exit(2);
  }
  for (const path of await uploadExampleData(url)) console.log(`uploaded ${path}`);
}
