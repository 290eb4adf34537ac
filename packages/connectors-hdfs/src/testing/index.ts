/**
 * @honk/connectors-hdfs/testing — the WebHDFS emulator, for tests and local development
 * (also the `honk-webhdfs-emulator` command). See README.md, "Testing".
 */
export { type EmulatedFileStatus, EmulatedRemoteException } from './emulator-namespace.ts';
export {
  type EmulatorFault,
  type EmulatorRequest,
  startWebHdfsEmulator,
  type WebHdfsEmulator,
  type WebHdfsEmulatorOptions,
} from './webhdfs-emulator.ts';
