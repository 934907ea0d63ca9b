// Loading of the CSI protobuf (proto/csi.proto, package csi.v1) for the gRPC server and clients.
//
// The TypeScript types in ./generated/ were produced by `npm run gen:proto`
// (proto-loader-gen-types) with exactly the options below: --keepCase --longs=String --enums=String
// --defaults --oneofs. The generated types describe the objects that @grpc/proto-loader builds at
// run time, so the two MUST stay in step: change an option here and in the "gen:proto" script of
// package.json together, then regenerate. proto.test.ts checks that they agree.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

import type { ProtoGrpcType } from "./generated/csi.js";

/**
 * Absolute path of proto/csi.proto. This module sits two directories below the package root both
 * as source (src/csi/) and when built (dist/csi/), so the same relative URL works for tsx, vitest
 * and the compiled driver. The "files" list of package.json ships proto/ alongside dist/.
 */
export const CSI_PROTO_PATH: string = fileURLToPath(new URL("../../proto/csi.proto", import.meta.url));

/**
 * proto-loader options the driver loads csi.proto with.
 *
 * - keepCase: message fields keep the spec's snake_case names (volume_id, staging_target_path), so code
 *   reads like the CSI spec; no camelCase aliases exist at run time.
 * - longs: String: int64 fields (capacity_bytes, required_bytes, ...) decode to decimal strings, so
 *   sizes above 2^53 survive; parse them with BigInt before doing arithmetic.
 * - enums: String: enum fields decode to their names ("SINGLE_NODE_WRITER"), not numbers.
 * - defaults: true: absent scalar, repeated and map fields decode to their proto3 defaults ("" / [] / {}),
 *   so handlers need not guard against undefined for those. Absent message fields stay null.
 * - oneofs: true: each oneof gets a virtual field naming the member that is set
 *   (VolumeCapability.access_type === "block" | "mount").
 *
 * includeDirs is deliberately not set: csi.proto only imports google/protobuf/{descriptor,timestamp,
 * wrappers}.proto, which protobufjs/proto-loader carry built in, and the file itself is loaded by
 * absolute path. Setting includeDirs to proto/ would make proto-loader warn for each google import.
 */
export const CSI_PROTO_LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

/** The raw package definition (what grpc-js serves, including the descriptors used by reflection). */
export function loadCsiPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(CSI_PROTO_PATH, { ...CSI_PROTO_LOADER_OPTIONS });
}

/** csi.proto loaded into service constructors and type definitions, typed by the generated code. */
export function loadCsiProto(): ProtoGrpcType {
  return grpc.loadPackageDefinition(loadCsiPackageDefinition()) as unknown as ProtoGrpcType;
}
