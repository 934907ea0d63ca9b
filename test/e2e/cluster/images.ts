/**
 * Container images without a registry: an OCI image layout (oci-layout, index.json, config,
 * manifest, one uncompressed tar layer) written here and imported with `ctr images import`
 * (kubelet-e2e.md "Images without a registry"). Pods use them with imagePullPolicy Never.
 *   - pause: the sandbox image, kubernetes' own build/pause/linux/pause.c compiled static;
 *   - busybox: Debian's static /bin/busybox with one link per applet — the workload image.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const PAUSE_IMAGE = "localhost/vsp-csi-e2e/pause:1";
export const BUSYBOX_IMAGE = "localhost/vsp-csi-e2e/busybox:1";

interface ImageSpec {
  ref: string;
  /** Fills the image's root file system. */
  fill(rootfs: string): Promise<void>;
  config: { Entrypoint?: string[]; Cmd?: string[]; Env: string[] };
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Writes the OCI archive of `spec` to `archive`. */
async function buildImage(spec: ImageSpec, work: string, archive: string): Promise<void> {
  await rm(work, { recursive: true, force: true });
  const rootfs = join(work, "rootfs");
  const layout = join(work, "layout");
  const blobs = join(layout, "blobs", "sha256");
  await mkdir(rootfs, { recursive: true });
  await mkdir(blobs, { recursive: true });
  await spec.fill(rootfs);
  const layerTar = join(work, "layer.tar");
  await run("tar", ["--owner=0", "--group=0", "--numeric-owner", "-C", rootfs, "-cf", layerTar, "."]);
  const layer = await readFile(layerTar);
  const layerDigest = sha256(layer);
  await writeFile(join(blobs, layerDigest), layer);
  const blob = async (value: unknown) => {
    const data = Buffer.from(JSON.stringify(value));
    const digest = sha256(data);
    await writeFile(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const config = await blob({
    architecture: "amd64",
    os: "linux",
    config: spec.config,
    rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
  });
  const manifest = await blob({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [
      {
        mediaType: "application/vnd.oci.image.layer.v1.tar",
        digest: `sha256:${layerDigest}`,
        size: layer.length,
      },
    ],
  });
  const tag = spec.ref.split(":").at(-1) ?? "latest";
  await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: { "io.containerd.image.name": spec.ref, "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  await run("tar", ["-C", layout, "-cf", archive, "oci-layout", "index.json", "blobs"]);
}

/** Builds the pause and busybox archives under `dir`; answers their paths. */
export async function buildImages(dir: string, pauseBinary: string): Promise<string[]> {
  const pause: ImageSpec = {
    ref: PAUSE_IMAGE,
    fill: (rootfs) => copyFile(pauseBinary, join(rootfs, "pause")),
    config: { Entrypoint: ["/pause"], Env: [] },
  };
  const busybox: ImageSpec = {
    ref: BUSYBOX_IMAGE,
    fill: async (rootfs) => {
      const bin = join(rootfs, "bin");
      await mkdir(bin, { recursive: true });
      await mkdir(join(rootfs, "tmp"), { recursive: true });
      await copyFile("/bin/busybox", join(bin, "busybox"));
      const { stdout } = await run("/bin/busybox", ["--list"]);
      for (const applet of stdout.split("\n").filter((a) => a !== "" && a !== "busybox")) {
        await symlink("busybox", join(bin, applet));
      }
    },
    config: { Cmd: ["/bin/sh"], Env: ["PATH=/bin"] },
  };
  const archives: string[] = [];
  for (const [name, spec] of [
    ["pause", pause],
    ["busybox", busybox],
  ] as const) {
    const archive = join(dir, `${name}.tar`);
    await buildImage(spec, join(dir, `${name}-build`), archive);
    archives.push(archive);
  }
  return archives;
}
