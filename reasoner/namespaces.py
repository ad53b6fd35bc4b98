"""The namespaces of hipaa-kg (see ontology/NAMING.md)."""

from rdflib import Namespace

HK = Namespace("https://w3id.org/hipaa-kg/")
HKP = Namespace("https://w3id.org/hipaa-kg/provision/")
HKR = Namespace("https://w3id.org/hipaa-kg/rule/")
HKS = Namespace("https://w3id.org/hipaa-kg/shapes/")
PROV = Namespace("http://www.w3.org/ns/prov#")
SCHEMA = Namespace("https://schema.org/")
DCTERMS = Namespace("http://purl.org/dc/terms/")
SH = Namespace("http://www.w3.org/ns/shacl#")

PREFIXES = {"hk": HK, "hkp": HKP, "hkr": HKR, "prov": PROV, "schema": SCHEMA, "dcterms": DCTERMS}
