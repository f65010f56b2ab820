// Files imported `with { type: "file" }` are paths to the embedded copy.
declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*.js" {
  const path: string;
  export default path;
}
