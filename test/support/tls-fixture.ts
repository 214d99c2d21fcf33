/**
 * A self-signed certificate for 127.0.0.1 (P-256, valid until 2126) and its key, made once with
 * `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
 * -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1`, for the loopback's HTTPS transfers: no CA
 * trusts it, as no CA trusts a test server.
 */
export const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTK+StCXXQ3jJUnUo
nhGV7bi8PUUUe5pkXqD0Tta2Mv6hRANCAASf0vzEOmHnch1qK3XRi5oKqlPbsquu
JQPab3V5NCn191FuiYR8Lk4E41H7kAXLiyO93gwLztpFEcRRDsSb+Q9W
-----END PRIVATE KEY-----
`;

export const TLS_CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIUZEbcCVii9htCAD8WD/77C6O+4vkwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNjEzNTMxMFoYDzIxMjYxMTAy
MTM1MzEwWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASf0vzEOmHnch1qK3XRi5oKqlPbsquuJQPab3V5NCn191FuiYR8Lk4E
41H7kAXLiyO93gwLztpFEcRRDsSb+Q9Wo2QwYjAdBgNVHQ4EFgQUH6VK6NwAGGMq
hP+liDZfx2SOf6gwHwYDVR0jBBgwFoAUH6VK6NwAGGMqhP+liDZfx2SOf6gwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
IQCStXp7/H+zppwT1D45G43zWKLojVG7M7zgX/3nFFUmOAIgdBloi29vaxiJ9Dgs
9ixTtgp/wJ1mIxHF6QNRfzvbM6k=
-----END CERTIFICATE-----
`;
