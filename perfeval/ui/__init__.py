"""The Streamlit-aware part of perfeval: the cached store and login (auth),
the frame (filters bound to the URL, cached queries, downloads), Plotly
figure builders (charts) and selection logic (links)."""
