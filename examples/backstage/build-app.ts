/**
 * Builds the Backstage app (app/) with Vite into dist/, in the layout Backstage's app backend
 * (@backstage/plugin-app-backend) serves:
 *
 *   dist/index.html, dist/static/*   the page and the bundle
 *   dist/index.html.tmpl             the page the app backend injects the frontend config into
 *                                    at run time, so one build serves any host and port
 *   dist/.config-schema.json         the config schema of every package the app and backend
 *                                    use: it decides which keys the browser may see
 *                                    (`@visibility frontend`), as backstage-cli's build does
 *
 * `node build-app.ts` (pnpm build) prints how long each step took.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigSchema } from '@backstage/config-loader';
import { build } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * The folder whose dist/ the backend's app plugin serves (`app.packageName`, which may be a
 * path): this example's own by default; tests build into a temporary one.
 */
export const APP_DIR = here;

export interface BuildTimings {
  bundleMs: number;
  schemaMs: number;
}

export interface BuildOptions {
  /** Build into `<appDir>/dist`; default {@link APP_DIR}. A package.json is written when it has none. */
  appDir?: string;
  quiet?: boolean;
}

export async function buildApp(options: BuildOptions = {}): Promise<BuildTimings> {
  const appDir = options.appDir ?? APP_DIR;
  const dist = join(appDir, 'dist');
  await mkdir(appDir, { recursive: true });
  // The app backend finds the app as a package: `<app.packageName>/package.json`, then dist/.
  if (!existsSync(join(appDir, 'package.json'))) {
    await writeFile(join(appDir, 'package.json'), '{ "name": "honk-example-backstage-app", "private": true }\n');
  }
  const started = performance.now();
  await build({
    root: join(here, 'app'),
    base: '/',
    configFile: false,
    logLevel: options.quiet ? 'warn' : 'info',
    mode: 'production',
    resolve: {
      // One copy of React and the router for the app and every plugin (a workspace plugin
      // would otherwise bring its own from its devDependencies).
      dedupe: ['react', 'react-dom', 'react-router', 'react-router-dom'],
      alias: [
        // The catalog's CSV export imports csv-stringify's Node build (streams, Buffer); the
        // package ships a browser build of the same function (backstage-cli polyfills Node instead).
        { find: /^csv-stringify\/lib\/sync$/, replacement: 'csv-stringify/lib/browser/sync.js' },
      ],
    },
    define: {
      // The frontend's config comes from the page at run time (the app backend injects it);
      // none is compiled in.
      'process.env.APP_CONFIG': 'undefined',
      // Backstage's packages say `global` (webpack provides it); browsers say `globalThis`.
      global: 'globalThis',
    },
    build: {
      outDir: dist,
      assetsDir: 'static',
      emptyOutDir: true,
      chunkSizeWarningLimit: 10_000,
      reportCompressedSize: false,
      rolldownOptions: {
        onwarn(warning, warn) {
          // MUI's and react-aria's "use client" directives mean nothing outside React Server
          // Components; Vite warns about each of them.
          if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
          warn(warning);
        },
      },
    },
  });
  const bundled = performance.now();
  await copyFile(join(dist, 'index.html'), join(dist, 'index.html.tmpl'));
  const schema = await loadConfigSchema({ dependencies: [], packagePaths: [join(here, 'package.json')] });
  await writeFile(join(dist, '.config-schema.json'), JSON.stringify(schema.serialize()));
  return { bundleMs: bundled - started, schemaMs: performance.now() - bundled };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { bundleMs, schemaMs } = await buildApp();
  console.log(
    `Built the Backstage app into ${join(APP_DIR, 'dist')}: bundle ${(bundleMs / 1000).toFixed(1)} s, config schema ${(schemaMs / 1000).toFixed(1)} s`,
  );
}
