import { MemoryTaskStore } from '../../src/queue/index.ts';
import { testTaskStore } from '../../src/testing/task-store-suite.ts';

testTaskStore({ name: 'MemoryTaskStore', create: async () => new MemoryTaskStore() });
