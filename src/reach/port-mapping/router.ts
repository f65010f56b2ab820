/** A router that forwards ports to this machine when asked, whichever protocol it speaks. */
export interface Router {
  protocol: "UPnP IGD" | "NAT-PMP";
  /** Its address on our network. */
  gateway: string;
  /** Our address on its network: what it forwards to. */
  localAddress: string;
  /** Its address on the internet side. */
  externalIp(): Promise<string>;
  /**
   * Forwards a TCP port outside to `port` here, kept until `close`; resolves with the port outside (it may differ).
   * `onChange` hears of a port that changed when the mapping was renewed.
   */
  mapTcp(port: number, onChange: (externalPort: number) => void): Promise<number>;
  /** Removes every mapping made through it. */
  close(): Promise<void>;
}
