import { afterEach, describe, expect, it } from "vitest";

import { VspClient } from "../array/client.js";
import type { ManagedArray } from "../driver/arrays.js";
import { currentDeadline } from "../deadline.js";
import { createLogger } from "../logging.js";
import { VALID_YAML, load } from "../config/test-support/fixtures.js";
import { clientsFor } from "./wiring.js";

let arrays: ManagedArray[] = [];
afterEach(async () => {
  await Promise.all(arrays.map((a) => a.client.close()));
  arrays = [];
});

describe("clientsFor", () => {
  it("gives each array's client its maxConcurrentRequests and the CSI call's deadline", async () => {
    const { config } = await load({
      file: VALID_YAML,
      argv: ["--set", "arrays[0].maxConcurrentRequests=3"],
    });
    arrays = clientsFor(config, createLogger("silent"));
    const client = arrays[0]?.client;
    expect(client).toBeInstanceOf(VspClient);
    const { options } = client as VspClient;
    expect(options.maxConcurrentRequests).toBe(3);
    expect(options.deadline).toBe(currentDeadline);
  });

  it("the default is the client's own: 8 requests in flight", async () => {
    const { config } = await load({ file: VALID_YAML });
    arrays = clientsFor(config, createLogger("silent"));
    expect((arrays[0]?.client as VspClient).options.maxConcurrentRequests).toBe(8);
  });
});
