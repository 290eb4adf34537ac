import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testSink, testSnapshot, testSource } from '@honk/core/testing';
import { arrowVersionsConnector } from '../arrow-versions-connector.ts';

// The whole conformance test of a connector: where its data lives, and a fresh endpoint per case.
const root = mkdtempSync(join(tmpdir(), 'honk-arrow-versions-'));
const suite = {
  connector: arrowVersionsConnector,
  options: () => ({ root }),
  endpoint: (name: string) => ({ table: name }),
};

testSource(suite);
testSink(suite);
testSnapshot(suite);
