import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { generate } from "selfsigned";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { ConfigError } from "./errors.js";
import { loadConfig } from "./load.js";
import { CONFIG_PATH, VALID_YAML } from "./test-support/fixtures.js";

const F = `(from ${CONFIG_PATH})`;
let dir: string;
let certA: string;
let certB: string;

beforeAll(async () => {
  const attrs = [{ name: "commonName", value: "vsp-ca" }];
  const [a, b] = await Promise.all([generate(attrs, { keySize: 2048 }), generate(attrs, { keySize: 2048 })]);
  certA = a.cert;
  certB = b.cert;
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsp-csi-config-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Load the valid file with `edit` applied, reading real files (the temp dir) except the config itself. */
async function loadWith(edit: (yaml: string) => string) {
  const yaml = edit(VALID_YAML);
  return loadConfig({
    argv: ["--config", CONFIG_PATH],
    env: {},
    readFile: (path) => (path === CONFIG_PATH ? Promise.resolve(yaml) : readFile(path, "utf8")),
    hostname: () => "node-a",
    driverVersion: "0",
  });
}

async function problems(edit: (yaml: string) => string): Promise<readonly string[]> {
  try {
    await loadWith(edit);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

const useSecretDir = (yaml: string) =>
  yaml.replace(/username: .*\n\s+password: .*/, `secretDir: ${join(dir, "secret")}`);

describe("credentials from a mounted Secret directory", () => {
  it("reads username and password, stripping the newline `echo` adds", async () => {
    await mkdir(join(dir, "secret"));
    await writeFile(join(dir, "secret", "username"), "maintenance\n");
    await writeFile(join(dir, "secret", "password"), "pa ss\nword\r\n");
    const { config, warnings } = await loadWith(useSecretDir);
    expect(config.arrays[0]?.credentials).toEqual({
      username: "maintenance",
      password: "pa ss\nword",
      from: { kind: "secretDir", dir: join(dir, "secret") },
    });
    expect(warnings).toEqual([]); // no inline-password warning
  });

  it("names the missing file and the key that pointed at it", async () => {
    await mkdir(join(dir, "secret"));
    await writeFile(join(dir, "secret", "username"), "maintenance");
    expect(await problems(useSecretDir)).toEqual([
      `config: arrays[0].credentials.secretDir ${F}: ${join(dir, "secret", "password")}: file not found`,
    ]);
  });

  it("reports both files when the directory is not mounted at all", async () => {
    expect(await problems(useSecretDir)).toEqual([
      `config: arrays[0].credentials.secretDir ${F}: ${join(dir, "secret", "username")}: file not found`,
      `config: arrays[0].credentials.secretDir ${F}: ${join(dir, "secret", "password")}: file not found`,
    ]);
  });

  it("refuses an empty file (a Secret key created without a value)", async () => {
    await mkdir(join(dir, "secret"));
    await writeFile(join(dir, "secret", "username"), "maintenance");
    await writeFile(join(dir, "secret", "password"), "\n");
    expect(await problems(useSecretDir)).toEqual([
      `config: arrays[0].credentials.secretDir ${F}: ${join(dir, "secret", "password")} is empty`,
    ]);
  });
});

describe("caBundle", () => {
  const withCa = (path: string) => (yaml: string) =>
    yaml.replace("transport: fc", `transport: fc\n    caBundle: ${path}`);

  it("reads a bundle of certificates and keeps the PEM for the TLS client", async () => {
    const path = join(dir, "ca.pem");
    await writeFile(path, `# array CAs\n${certA}\n${certB}`);
    const { config } = await loadWith(withCa(path));
    expect(config.arrays[0]?.caBundle).toMatchObject({ path, certificates: 2 });
    expect(config.arrays[0]?.caBundle?.pem).toContain(certA.trim());
  });

  it.each([
    [
      "a file with no certificate",
      "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
      "contains no PEM certificate (-----BEGIN CERTIFICATE-----)",
    ],
    ["an empty file", "", "contains no PEM certificate (-----BEGIN CERTIFICATE-----)"],
    [
      "a corrupt certificate",
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
      ": certificate 1 of 1 is not a valid X.509 certificate",
    ],
  ])("refuses %s, naming the key and the file", async (_what, content, message) => {
    const path = join(dir, "ca.pem");
    await writeFile(path, content);
    const sep = message.startsWith(":") ? "" : " ";
    expect(await problems(withCa(path))).toEqual([
      `config: arrays[0].caBundle ${F}: ${path}${sep}${message}`,
    ]);
  });

  it("names which certificate of a bundle is broken", async () => {
    const path = join(dir, "ca.pem");
    const broken = certB.replace(/\n[A-Za-z0-9+/]{20}/, "\n!!!!");
    await writeFile(path, `${certA}${broken}`);
    expect(await problems(withCa(path))).toEqual([
      `config: arrays[0].caBundle ${F}: ${path}: certificate 2 of 2 is not a valid X.509 certificate`,
    ]);
  });

  it("refuses a missing file and a directory", async () => {
    expect(await problems(withCa(join(dir, "nope.pem")))).toEqual([
      `config: arrays[0].caBundle ${F}: ${join(dir, "nope.pem")}: file not found`,
    ]);
    expect(await problems(withCa(dir))).toEqual([`config: arrays[0].caBundle ${F}: ${dir}: is a directory`]);
  });
});
