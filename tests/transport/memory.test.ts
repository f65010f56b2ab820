import { MemoryNetwork, memoryTransport } from "../../src/transport/memory.ts";
import { transportCompliance } from "./compliance.ts";

transportCompliance("memory", async () => {
  const network = new MemoryNetwork();
  return {
    a: memoryTransport(network, "a"),
    b: memoryTransport(network, "b"),
    addressOfB: { memory: "b" },
    nowhere: { memory: "nobody" },
  };
});
