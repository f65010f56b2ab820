/** The part of noise-handshake (Holepunch, CommonJS, untyped) that channel.ts uses. */
declare module "noise-handshake" {
  interface Curve {
    DHLEN: number;
    PKLEN: number;
    SKLEN: number;
    ALG: string;
    generateKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array };
    dh(publicKey: Uint8Array, keyPair: { secretKey: Uint8Array }): Uint8Array;
  }
  export default class Noise {
    constructor(pattern: "XX", initiator: boolean, staticKeyPair?: { publicKey: Uint8Array; secretKey: Uint8Array } | null, options?: { curve?: Curve });
    readonly s: { publicKey: Uint8Array; secretKey: Uint8Array };
    /** The far end's static key, once the handshake has carried it. */
    readonly rs: Uint8Array | null;
    readonly complete: boolean;
    /** Once complete: this side's sending and receiving keys, and the handshake hash. */
    readonly tx: Uint8Array | null;
    readonly rx: Uint8Array | null;
    readonly hash: Uint8Array | null;
    initialise(prologue: Uint8Array, remoteStatic?: Uint8Array): void;
    send(payload?: Uint8Array): Uint8Array;
    recv(message: Uint8Array): Uint8Array;
  }
}
