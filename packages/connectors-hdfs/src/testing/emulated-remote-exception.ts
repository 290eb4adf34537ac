/**
 * An HDFS RemoteException as the emulator answers it: `{"RemoteException": {exception,
 * javaClassName, message}}` with the HTTP status WebHDFS gives its class.
 */
/** An HDFS RemoteException: its Java class decides how clients map it. */
export class EmulatedRemoteException extends Error {
  readonly exception: string;
  readonly javaClassName: string;
  readonly status: number;

  constructor(exception: string, message: string, status?: number) {
    super(message);
    this.exception = exception;
    this.javaClassName = JAVA_PACKAGES[exception] ?? `java.io.${exception}`;
    // WebHDFS answers by exception class: SecurityException 401, FileNotFound 404,
    // IllegalArgument/UnsupportedOperation 400, every other IOException 403.
    this.status =
      status ??
      (exception === 'SecurityException'
        ? 401
        : exception === 'FileNotFoundException'
          ? 404
          : exception === 'IllegalArgumentException' || exception === 'UnsupportedOperationException'
            ? 400
            : 403);
  }

  toJSON() {
    return { RemoteException: { exception: this.exception, javaClassName: this.javaClassName, message: this.message } };
  }
}

const JAVA_PACKAGES: Record<string, string> = {
  AccessControlException: 'org.apache.hadoop.security.AccessControlException',
  SnapshotAccessControlException: 'org.apache.hadoop.hdfs.protocol.SnapshotAccessControlException',
  SnapshotException: 'org.apache.hadoop.hdfs.protocol.SnapshotException',
  StandbyException: 'org.apache.hadoop.ipc.StandbyException',
  RetriableException: 'org.apache.hadoop.ipc.RetriableException',
  FileAlreadyExistsException: 'org.apache.hadoop.fs.FileAlreadyExistsException',
  ParentNotDirectoryException: 'org.apache.hadoop.fs.ParentNotDirectoryException',
  PathIsNotEmptyDirectoryException: 'org.apache.hadoop.fs.PathIsNotEmptyDirectoryException',
  SecurityException: 'java.lang.SecurityException',
  IllegalArgumentException: 'java.lang.IllegalArgumentException',
  UnsupportedOperationException: 'java.lang.UnsupportedOperationException',
};
