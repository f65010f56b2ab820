import { MemoryNetwork, memoryTransport } from "../../../src/transport/memory/index.ts";
import { transportCompliance } from "../../helpers/compliance.ts";

transportCompliance("memory", async (options) => {
  const network = new MemoryNetwork();
  return {
    a: memoryTransport(network, "a", options),
    b: memoryTransport(network, "b", options),
    addressOfB: { memory: "b" },
    nowhere: { memory: "nobody" },
  };
});
