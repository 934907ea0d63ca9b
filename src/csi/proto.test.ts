import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import protobuf from "protobufjs";
import type { PackageDefinition, ServiceDefinition } from "@grpc/proto-loader";

import {
  CSI_PROTO_LOADER_OPTIONS,
  CSI_PROTO_PATH,
  loadCsiPackageDefinition,
  loadCsiProto,
} from "./proto-options.js";

// Expected numbers below are copied from the protobuf blocks of the CSI spec text that
// proto/csi.proto was assembled from (see the note at the top of that file).

interface NamedNumber {
  name: string;
  number: number;
}

interface MessageDescriptor {
  name: string;
  field: NamedNumber[];
  nestedType: MessageDescriptor[];
  enumType: { name: string; value: NamedNumber[] }[];
}

/**
 * The DescriptorProto that proto-loader built for grpc-js. Only top-level types are keys of the
 * package definition; nested ones ("VolumeCapability.MountVolume") are reached through nestedType.
 */
function messageDescriptor(def: PackageDefinition, path: string): MessageDescriptor {
  const [top, ...nested] = path.split(".");
  const entry = def[`csi.v1.${top ?? ""}`] as { format?: unknown; type?: unknown } | undefined;
  if (entry?.format !== "Protocol Buffer 3 DescriptorProto")
    throw new Error(`csi.v1.${path}: no such message`);
  let descriptor = entry.type as MessageDescriptor;
  for (const name of nested) {
    const child = descriptor.nestedType.find((t) => t.name === name);
    if (child === undefined) throw new Error(`csi.v1.${path}: no nested message ${name}`);
    descriptor = child;
  }
  return descriptor;
}

/** Field name -> field number. */
function fieldNumbers(def: PackageDefinition, message: string): Record<string, number> {
  return Object.fromEntries(messageDescriptor(def, message).field.map((f) => [f.name, f.number]));
}

/** Value name -> number of an enum nested in a message ("NodeServiceCapability.RPC.Type"). */
function enumValues(def: PackageDefinition, path: string): Record<string, number> {
  const cut = path.lastIndexOf(".");
  const enumName = path.slice(cut + 1);
  const found = messageDescriptor(def, path.slice(0, cut)).enumType.find((e) => e.name === enumName);
  if (found === undefined) throw new Error(`csi.v1.${path}: no such enum`);
  return Object.fromEntries(found.value.map((v) => [v.name, v.number]));
}

function service(def: PackageDefinition, name: string): ServiceDefinition {
  const entry = def[`csi.v1.${name}`];
  if (entry === undefined || "format" in entry) throw new Error(`csi.v1.${name} is not a service`);
  return entry;
}

/** protobufjs reflection of the same file, for what proto-loader drops: extensions and option values. */
function loadWithProtobufjs(): protobuf.Root {
  const bundledDescriptor = createRequire(import.meta.url).resolve(
    "protobufjs/google/protobuf/descriptor.proto",
  );
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) =>
    target === "google/protobuf/descriptor.proto"
      ? bundledDescriptor
      : protobuf.util.path.resolve(origin, target);
  root.loadSync(CSI_PROTO_PATH, { keepCase: true });
  root.resolveAll();
  return root;
}

const CONTROLLER_RPCS = [
  "CreateVolume",
  "DeleteVolume",
  "ControllerPublishVolume",
  "ControllerUnpublishVolume",
  "ValidateVolumeCapabilities",
  "ListVolumes",
  "GetCapacity",
  "ControllerGetCapabilities",
  "CreateSnapshot",
  "DeleteSnapshot",
  "ListSnapshots",
  "GetSnapshot",
  "ControllerExpandVolume",
  "ControllerGetVolume",
  "ControllerModifyVolume",
];

describe("csi.proto loaded with the driver's options", () => {
  const def = loadCsiPackageDefinition();

  it("exposes the csi.v1 services as grpc-js client constructors", () => {
    const csi = loadCsiProto().csi.v1;
    for (const svc of [csi.Identity, csi.Controller, csi.GroupController, csi.SnapshotMetadata, csi.Node]) {
      expect(typeof svc).toBe("function");
    }
    expect(Object.keys(csi.Controller.service)).toEqual(CONTROLLER_RPCS);
    expect(csi.Node.service.NodeStageVolume.path).toBe("/csi.v1.Node/NodeStageVolume");
  });

  it("declares every RPC of each service, in spec order", () => {
    expect(Object.keys(service(def, "Identity"))).toEqual([
      "GetPluginInfo",
      "GetPluginCapabilities",
      "Probe",
    ]);
    expect(Object.keys(service(def, "Controller"))).toEqual(CONTROLLER_RPCS);
    expect(Object.keys(service(def, "GroupController"))).toEqual([
      "GroupControllerGetCapabilities",
      "CreateVolumeGroupSnapshot",
      "DeleteVolumeGroupSnapshot",
      "GetVolumeGroupSnapshot",
    ]);
    expect(Object.keys(service(def, "Node"))).toEqual([
      "NodeStageVolume",
      "NodeUnstageVolume",
      "NodePublishVolume",
      "NodeUnpublishVolume",
      "NodeGetVolumeStats",
      "NodeExpandVolume",
      "NodeGetCapabilities",
      "NodeGetInfo",
    ]);
    const snapshotMetadata = service(def, "SnapshotMetadata");
    expect(Object.keys(snapshotMetadata)).toEqual(["GetMetadataAllocated", "GetMetadataDelta"]);
    for (const method of Object.values(snapshotMetadata)) {
      expect([method.requestStream, method.responseStream]).toEqual([false, true]);
    }
    expect(service(def, "Controller").CreateVolume!.path).toBe("/csi.v1.Controller/CreateVolume");
  });

  it("has the spec's field numbers", () => {
    expect(fieldNumbers(def, "CreateVolumeRequest")).toEqual({
      name: 1,
      capacity_range: 2,
      volume_capabilities: 3,
      parameters: 4,
      secrets: 5,
      volume_content_source: 6,
      accessibility_requirements: 7,
      mutable_parameters: 8,
    });
    expect(fieldNumbers(def, "NodeStageVolumeRequest")).toEqual({
      volume_id: 1,
      publish_context: 2,
      staging_target_path: 3,
      volume_capability: 4,
      secrets: 5,
      volume_context: 6,
    });
    expect(fieldNumbers(def, "NodePublishVolumeRequest")).toEqual({
      volume_id: 1,
      publish_context: 2,
      staging_target_path: 3,
      target_path: 4,
      volume_capability: 5,
      readonly: 6,
      secrets: 7,
      volume_context: 8,
    });
    expect(fieldNumbers(def, "ValidateVolumeCapabilitiesRequest")).toEqual({
      volume_id: 1,
      volume_context: 2,
      volume_capabilities: 3,
      parameters: 4,
      secrets: 5,
      mutable_parameters: 6,
    });
    expect(fieldNumbers(def, "ControllerModifyVolumeRequest")).toEqual({
      volume_id: 1,
      secrets: 2,
      mutable_parameters: 3,
    });
    expect(fieldNumbers(def, "CreateSnapshotRequest")).toEqual({
      source_volume_id: 1,
      name: 2,
      secrets: 3,
      parameters: 4,
    });
    expect(fieldNumbers(def, "CreateSnapshotResponse")).toEqual({ snapshot: 1 });
    expect(fieldNumbers(def, "Snapshot")).toEqual({
      size_bytes: 1,
      snapshot_id: 2,
      source_volume_id: 3,
      creation_time: 4,
      ready_to_use: 5,
      group_snapshot_id: 6,
    });
    expect(fieldNumbers(def, "VolumeCapability.MountVolume")).toEqual({
      fs_type: 1,
      mount_flags: 2,
      volume_mount_group: 3,
    });
    expect(fieldNumbers(def, "VolumeContentSource")).toEqual({ snapshot: 1, volume: 2 });
  });

  it("has the spec's enum values", () => {
    expect(enumValues(def, "NodeServiceCapability.RPC.Type")).toMatchObject({
      STAGE_UNSTAGE_VOLUME: 1,
      GET_VOLUME_STATS: 2,
      EXPAND_VOLUME: 3,
      VOLUME_MOUNT_GROUP: 6,
    });
    expect(enumValues(def, "ControllerServiceCapability.RPC.Type")).toMatchObject({
      CREATE_DELETE_VOLUME: 1,
      CREATE_DELETE_SNAPSHOT: 5,
      CLONE_VOLUME: 7,
      EXPAND_VOLUME: 9,
      MODIFY_VOLUME: 14,
      GET_SNAPSHOT: 15,
    });
    expect(enumValues(def, "PluginCapability.Service.Type")).toEqual({
      UNKNOWN: 0,
      CONTROLLER_SERVICE: 1,
      VOLUME_ACCESSIBILITY_CONSTRAINTS: 2,
      GROUP_CONTROLLER_SERVICE: 3,
      SNAPSHOT_METADATA_SERVICE: 4,
    });
    expect(enumValues(def, "VolumeCapability.AccessMode.Mode")).toMatchObject({
      SINGLE_NODE_WRITER: 1,
      MULTI_NODE_MULTI_WRITER: 5,
      SINGLE_NODE_MULTI_WRITER: 7,
    });
  });

  it("decodes messages the way the options promise (snake_case, string longs and enums, defaults, oneofs)", () => {
    const createVolume = service(def, "Controller").CreateVolume!;
    const wire = createVolume.requestSerialize({
      name: "pvc-1",
      capacity_range: { required_bytes: "9007199254740993" },
      volume_capabilities: [{ mount: { fs_type: "ext4" }, access_mode: { mode: "SINGLE_NODE_WRITER" } }],
    });
    const decoded = createVolume.requestDeserialize(wire) as Record<string, unknown>;
    expect(decoded).toMatchObject({
      name: "pvc-1",
      capacity_range: { required_bytes: "9007199254740993", limit_bytes: "0" },
      volume_capabilities: [
        { access_type: "mount", mount: { fs_type: "ext4" }, access_mode: { mode: "SINGLE_NODE_WRITER" } },
      ],
      parameters: {},
      secrets: {},
      mutable_parameters: {},
      volume_content_source: null,
    });
  });

  it("matches the options the generated types were produced with (npm run gen:proto)", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      scripts: Record<string, string>;
    };
    const flags = pkg.scripts["gen:proto"]!.split(/\s+/);
    expect(flags).toContain("--keepCase");
    expect(flags).toContain("--longs=String");
    expect(flags).toContain("--enums=String");
    expect(flags).toContain("--defaults");
    expect(flags).toContain("--oneofs");
    expect(CSI_PROTO_LOADER_OPTIONS).toEqual({
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
  });
});

describe("csi.proto custom options (protobufjs reflection)", () => {
  const root = loadWithProtobufjs();

  it("declares the CSI extensions on descriptor options with the spec's numbers", () => {
    const extensions = [
      ["csi_secret", 1059, "google.protobuf.FieldOptions"],
      ["alpha_field", 1060, "google.protobuf.FieldOptions"],
      ["alpha_enum", 1060, "google.protobuf.EnumOptions"],
      ["alpha_enum_value", 1060, "google.protobuf.EnumValueOptions"],
      ["alpha_message", 1060, "google.protobuf.MessageOptions"],
      ["alpha_method", 1060, "google.protobuf.MethodOptions"],
      ["alpha_service", 1060, "google.protobuf.ServiceOptions"],
    ] as const;
    for (const [name, id, extendee] of extensions) {
      const field = root.lookup(`csi.v1.${name}`);
      expect(field, name).toBeInstanceOf(protobuf.Field);
      expect([(field as protobuf.Field).id, (field as protobuf.Field).extend]).toEqual([id, extendee]);
    }
  });

  it("marks every secrets map with (csi_secret)", () => {
    const secretsFields: string[] = [];
    const visit = (ns: protobuf.NamespaceBase): void => {
      for (const nested of ns.nestedArray) {
        if (nested instanceof protobuf.Type) {
          const secrets = nested.fields.secrets;
          if (secrets !== undefined) {
            secretsFields.push(nested.name);
            expect(secrets.options?.["(csi_secret)"], nested.name).toBe(true);
          }
        }
        if (nested instanceof protobuf.Namespace) visit(nested);
      }
    };
    visit(root.lookup("csi.v1") as protobuf.Namespace);
    expect(secretsFields).toContain("NodeStageVolumeRequest");
    expect(secretsFields).toContain("CreateSnapshotRequest");
    expect(secretsFields.length).toBeGreaterThanOrEqual(15);
  });

  it("keeps the service-level option on SnapshotMetadata and the go_package", () => {
    expect(root.lookupService("csi.v1.SnapshotMetadata").options).toEqual({ "(alpha_service)": true });
    expect(readFileSync(CSI_PROTO_PATH, "utf8")).toContain(
      'option go_package = \n  "github.com/container-storage-interface/spec/lib/go/csi";',
    );
  });
});
