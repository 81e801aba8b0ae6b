// An ACL rule of the filter's configuration (README: Authorization), as the tests write them.
export const allow = (principal: string, resource: string, name: string, operations: string[], pattern = "literal") =>
  ({ principal, permission: "allow", resource, name, operations, pattern });
