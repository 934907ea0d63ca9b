/** Unix socket probes shared by the crash rig and the e2e harness. */
import { connect } from "node:net";

/** Whether something accepts a connection on the unix socket now (a stale socket file does not). */
export function acceptsConnection(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}
