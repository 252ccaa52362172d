"""CAD: OpenCascade reading, tessellation and GLB writing (`occ`, OCP imported inside), plain
GLB chunks (`glb`), and the sample STEP builders tests, benches and the README use."""
