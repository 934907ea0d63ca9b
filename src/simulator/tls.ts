/**
 * HTTPS for the simulator: a self-signed certificate for localhost/127.0.0.1/::1, generated once
 * and kept in `<dataDir>/tls/` so a client configured with it as CA bundle keeps working across
 * restarts — the same way a real array's SVP certificate is pinned by its clients.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { generate } from "selfsigned";

export interface TlsMaterial {
  certPath: string;
  cert: string;
  key: string;
}

export async function ensureCertificate(dataDir: string): Promise<TlsMaterial> {
  const dir = join(dataDir, "tls");
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  try {
    return { certPath, cert: await readFile(certPath, "utf8"), key: await readFile(keyPath, "utf8") };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keySize: 2048,
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  await mkdir(dir, { recursive: true });
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  await writeFile(certPath, pems.cert);
  return { certPath, cert: pems.cert, key: pems.private };
}
