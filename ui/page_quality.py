from ui.quality import quality_page

quality_page()
